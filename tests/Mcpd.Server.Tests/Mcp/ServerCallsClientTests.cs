using System.Text;
using System.Text.Json;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Connections;
using Mcpd.Server.Hosting;
using Mcpd.Server.Transport;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Mcpd.Server.Tests.Mcp;

/// <summary>Both directions may send REQ (docs/protocol.md): the server calls handlers of a connected client.</summary>
public abstract class ServerCallsClientTests(TransportKind transport)
{
    [Fact]
    public async Task The_server_calls_a_client_handler_and_gets_its_answer_while_the_client_keeps_calling()
    {
        await using var server = await StartAsync();
        var options = new McpClientOptions().MapMethod("device.status", (request, _) =>
            ValueTask.FromResult(McpReply.Ok($"{request.Header("which")}: running, {Encoding.UTF8.GetString(request.Body.Span)}")));
        await using var client = await McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, options);
        var peer = await PeerOf(server);

        var fromServer = Enumerable.Range(0, 50).Select(i => peer.CallAsync("device.status", Encoding.UTF8.GetBytes($"#{i}"), [new("which", "pump")]));
        var fromClient = Enumerable.Range(0, 50).Select(i => client.CallAsync("sys.echo", Encoding.UTF8.GetBytes($"echo {i}")));
        var serverAnswers = await Task.WhenAll(fromServer);
        var clientAnswers = await Task.WhenAll(fromClient);

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(McpStatus.Ok, serverAnswers[i].Status);
            Assert.Equal($"pump: running, #{i}", serverAnswers[i].BodyText);
            Assert.Equal($"echo {i}", clientAnswers[i].BodyText);
        }
    }

    [Fact]
    public async Task Unmapped_methods_say_not_found_failing_handlers_say_internal_and_one_way_gets_an_ack()
    {
        await using var server = await StartAsync();
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new McpClientOptions()
            .MapMethod("broken", (_, _) => throw new InvalidOperationException("boom"))
            .MapMethod("notify", (request, _) =>
            {
                received.TrySetResult(request.Method);
                return ValueTask.FromResult(McpReply.Ok());
            });
        await using var client = await McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, options);
        var peer = await PeerOf(server);
        const string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        var missing = await peer.CallAsync("no.such", headers: [new(McpHeaderNames.TraceParent, traceparent)]);
        var broken = await peer.CallAsync("broken");
        var ack = await peer.SendOneWayAsync("notify");

        Assert.Equal(McpStatus.NotFound, missing.Status);
        using var body = JsonDocument.Parse(missing.Body);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", body.RootElement.GetProperty("traceId").GetString());
        Assert.Equal(McpStatus.Internal, broken.Status);
        Assert.Equal(McpStatus.Ok, ack);
        Assert.Equal("notify", await received.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(McpStatus.Ok, (await client.CallAsync("sys.echo")).Status);
    }

    [Fact]
    public async Task A_call_to_a_client_that_does_not_answer_times_out_and_one_that_leaves_fails_at_once()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["mcp:callTimeout"] = "00:00:00.300" });
        var handlerStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new McpClientOptions().MapMethod("slow", async (_, cancellationToken) =>
        {
            handlerStarted.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return McpReply.Ok();
        });
        var client = await McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, options);
        var peer = await PeerOf(server);

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => peer.CallAsync("slow"));
        Assert.Contains("slow", timeout.Message, StringComparison.Ordinal);

        var pending = peer.CallAsync("slow");
        await handlerStarted.Task;
        await client.DisposeAsync();
        await Assert.ThrowsAsync<IOException>(() => pending);
        await Assert.ThrowsAsync<IOException>(() => peer.CallAsync("slow"));
    }

    [Fact]
    public async Task Server_calls_racing_the_close_either_get_their_answer_or_an_IOException()
    {
        await using var server = await StartAsync();
        var options = new McpClientOptions().MapMethod("ping.me", (_, _) => ValueTask.FromResult(McpReply.Ok("pong")));
        var client = await McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, options);
        var peer = await PeerOf(server);

        var calls = Enumerable.Range(0, 200).Select(_ => Task.Run(() => peer.CallAsync("ping.me"))).ToList();
        await client.DisposeAsync();
        var outcomes = await Task.WhenAll(calls.Select(async call =>
        {
            try
            {
                return (await call).BodyText;
            }
            catch (IOException)
            {
                return "closed";
            }
        }));

        Assert.All(outcomes, outcome => Assert.True(outcome is "pong" or "closed", outcome));
        Assert.DoesNotContain(server.Logs.Lines, line => line.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Fact]
    public async Task Calls_in_both_directions_work_over_the_crc_listener()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["mcp:crcPort"] = "0" });
        var options = new McpClientOptions { Framing = McpFraming.Crc }.MapMethod("hello", (_, _) => ValueTask.FromResult(McpReply.Ok("from the client")));
        await using var client = await McpClient.ConnectAsync("127.0.0.1", server.McpCrcEndPoint.Port, options);
        var peer = await PeerOf(server);

        var echo = await client.CallAsync("sys.echo", "over crc"u8.ToArray());
        var pdu = await client.CallAsync("modbus.pdu", Convert.FromHexString("0300000002"), [new(McpHeaderNames.Unit, "1")]);
        var hello = await peer.CallAsync("hello");
        var rtt = await client.PingAsync();

        Assert.Equal("over crc", echo.BodyText);
        Assert.Equal("030400640055", Convert.ToHexString(pdu.Body));
        Assert.Equal("from the client", hello.BodyText);
        Assert.InRange(rtt, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Handlers_that_call_their_client_back_at_the_in_flight_limit_still_get_the_answers()
    {
        await using var server = await StartAsync(
            new Dictionary<string, string?> { ["mcp:maxInFlightPerConnection"] = "2", ["mcp:callTimeout"] = "00:00:05" },
            builder => builder.Services.AddMcpMethod("ask.back", async (request, cancellationToken) =>
                McpReply.From(await request.Peer.CallAsync("client.echo", request.Body, cancellationToken: cancellationToken))));
        var options = new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(4) }
            .MapMethod("client.echo", async (request, cancellationToken) =>
            {
                await Task.Delay(50, cancellationToken);
                return McpReply.Ok(request.Body);
            });
        await using var client = await McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, options);

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => client.CallAsync("ask.back", Encoding.UTF8.GetBytes($"#{i}"))));

        // Two hold the slots and wait for the client's answers, which are still read; the others are refused at once.
        Assert.All(answers, a => Assert.Contains(a.Status, new[] { McpStatus.Ok, McpStatus.Overloaded }));
        Assert.True(answers.Count(a => a.Status == McpStatus.Ok) >= 2);
        Assert.All(answers.Where(a => a.Status == McpStatus.Ok), a => Assert.StartsWith("#", a.BodyText, StringComparison.Ordinal));
    }

    /// <summary>The server side of the only MCP connection of <paramref name="server"/>, once it is admitted.</summary>
    private static async Task<IMcpPeer> PeerOf(McpdTestServer server)
    {
        var registry = server.Services.GetRequiredService<ConnectionRegistry>();
        for (var attempt = 0; attempt < 500; attempt++)
        {
            if (registry.Snapshot(ListenerNames.Mcp).Concat(registry.Snapshot(ListenerNames.McpCrc)).SingleOrDefault()?.Peer is { } peer)
            {
                return peer;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException("The server never admitted the connection.");
    }

    private Task<McpdTestServer> StartAsync(Dictionary<string, string?>? settings = null, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null) =>
        McpdTestServer.StartAsync(McpdTestServer.WithTransport(transport, settings), configure);
}

/// <summary>The tests above over mcpd's epoll transport.</summary>
public sealed class ServerCallsClientTestsOnEpoll() : ServerCallsClientTests(TransportKind.Epoll);

/// <summary>The tests above over Kestrel's socket transport.</summary>
public sealed class ServerCallsClientTestsOnSockets() : ServerCallsClientTests(TransportKind.Sockets);
