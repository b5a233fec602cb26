using System.Text;
using System.Text.Json;
using System.Net;
using System.Net.Sockets;
using Mcpd.Client;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Hosting;
using Mcpd.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Mcp;

/// <summary>The project's MCP client against the real server.</summary>
public class McpClientTests
{
    [Fact]
    public async Task Many_calls_in_flight_on_one_connection_each_get_their_own_answer()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await Connect(server);

        var calls = Enumerable.Range(0, 200).Select(async i =>
        {
            var response = await client.CallAsync("sys.echo", Encoding.UTF8.GetBytes($"message {i}"));
            return (i, response);
        });

        foreach (var (i, response) in await Task.WhenAll(calls))
        {
            Assert.Equal(McpStatus.Ok, response.Status);
            Assert.Equal($"message {i}", response.BodyText);
        }
    }

    [Fact]
    public async Task One_way_send_completes_on_the_ack_and_unknown_methods_say_not_found()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await Connect(server);

        Assert.Equal(McpStatus.Ok, await client.SendOneWayAsync("sys.echo", "fire and forget"u8.ToArray()));
        Assert.Equal(McpStatus.NotFound, await client.SendOneWayAsync("no.such"));
        var response = await client.CallAsync("no.such");
        Assert.Equal(McpStatus.NotFound, response.Status);
        using var json = JsonDocument.Parse(response.Body);
        Assert.Equal("NOT_FOUND", json.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Ping_measures_a_round_trip()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await Connect(server);

        var rtt = await client.PingAsync();

        Assert.InRange(rtt, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Modbus_pdu_through_the_client_reads_the_seed_table()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await Connect(server);

        var response = await client.CallAsync("modbus.pdu", Convert.FromHexString("0300000002"), [new("unit", "1")]);

        Assert.Equal("030400640055", Convert.ToHexString(response.Body));
    }

    [Fact]
    public async Task A_call_without_an_answer_times_out_with_a_clear_message()
    {
        var device = new GatedDevice();
        await using var server = await McpdTestServer.StartAsync(configure: builder => builder.Services.AddModbusDevice(2, device));
        await using var client = await Connect(server, TimeSpan.FromMilliseconds(300));

        var error = await Assert.ThrowsAsync<TimeoutException>(() => client.CallAsync("modbus.pdu", Convert.FromHexString("0300000001"), [new("unit", "2")]));

        Assert.Contains("modbus.pdu", error.Message, StringComparison.Ordinal);
        Assert.Contains("within 00:00:00.3", error.Message, StringComparison.Ordinal);
        device.Open();
        // The late answer is dropped; the next call gets its own.
        Assert.Equal("still mine", (await client.CallAsync("sys.echo", "still mine"u8.ToArray())).BodyText);
    }

    [Fact]
    public async Task After_a_shutdown_the_client_retries_with_backoff_then_gives_up_clearly()
    {
        var device = new GatedDevice();
        var server = await McpdTestServer.StartAsync(configure: builder => builder.Services.AddModbusDevice(2, device));
        var log = new LogCapture();
        var options = new McpClientOptions
        {
            Reconnect = new ReconnectPolicy(TimeSpan.FromMilliseconds(20), 2, TimeSpan.FromMilliseconds(100), 3),
            Logger = log.CreateLogger("client"),
        };
        await using var client = await McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, options);
        var lost = new TaskCompletionSource<Exception>();
        client.ConnectionLost += (_, reason) => lost.TrySetResult(reason);
        var waiting = client.CallAsync("modbus.pdu", Convert.FromHexString("0300000001"), [new("unit", "2")]);
        while (device.Started == 0)
        {
            await Task.Delay(10);
        }

        var stopping = server.StopAsync();
        device.Open();
        await stopping;
        await server.DisposeAsync();

        // The request in flight was answered before the goodbye.
        Assert.Equal(McpStatus.Ok, (await waiting).Status);
        var reason = await lost.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("after 3 attempts", reason.Message, StringComparison.Ordinal);
        var error = await Assert.ThrowsAsync<IOException>(() => client.CallAsync("sys.echo"));
        Assert.Contains("Gave up reconnecting", error.Message, StringComparison.Ordinal);
        await log.WaitForAsync("lost (");
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Critical, (await log.WaitForAsync("given up after 3 attempts")).Level);
    }

    [Fact]
    public async Task A_restarted_server_is_found_again_and_calls_made_meanwhile_wait_for_it()
    {
        var first = await McpdTestServer.StartAsync();
        var port = first.McpEndPoint.Port;
        var options = new McpClientOptions
        {
            RequestTimeout = TimeSpan.FromSeconds(15),
            Reconnect = new ReconnectPolicy(TimeSpan.FromMilliseconds(50), 2, TimeSpan.FromMilliseconds(400), 50),
        };
        await using var client = await McpClient.ConnectAsync("127.0.0.1", port, options);
        var reconnected = new TaskCompletionSource();
        var disconnected = new TaskCompletionSource<Exception>();
        client.Reconnected += (_, _) => reconnected.TrySetResult();
        client.Disconnected += (_, reason) => disconnected.TrySetResult(reason);
        Assert.Equal("before", (await client.CallAsync("sys.echo", "before"u8.ToArray())).BodyText);

        await first.DisposeAsync();
        Assert.Contains("SHUTTING_DOWN", (await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(5))).Message, StringComparison.Ordinal);
        var meanwhile = client.CallAsync("sys.echo", "meanwhile"u8.ToArray());
        await Task.Delay(300);
        await using var second = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["mcp:port"] = $"{port}" });

        Assert.Equal("meanwhile", (await meanwhile).BodyText);
        await reconnected.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("after", (await client.CallAsync("sys.echo", "after"u8.ToArray())).BodyText);
    }

    [Fact]
    public async Task Three_unanswered_pings_mark_a_silent_peer_dead_and_the_client_reconnects()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var silentPeer = new TcpListener(IPAddress.Loopback, 0);
        silentPeer.Start();
        var options = new McpClientOptions
        {
            HeartbeatInterval = TimeSpan.FromSeconds(10),
            Reconnect = new ReconnectPolicy(TimeSpan.FromSeconds(1), 2, TimeSpan.FromSeconds(1), 5),
            Time = time,
        };
        var connecting = McpClient.ConnectAsync("127.0.0.1", ((IPEndPoint)silentPeer.LocalEndpoint).Port, options);
        using var firstConnection = await silentPeer.AcceptSocketAsync();
        await using var client = await connecting;
        var pings = 0;
        var buffer = new byte[64];

        // Each silent interval brings one PING (8-byte header + 4 bytes); the peer never answers.
        for (var interval = 0; interval < 3; interval++)
        {
            time.Advance(TimeSpan.FromSeconds(10));
            pings += await firstConnection.ReceiveAsync(buffer) / 12;
        }

        Assert.Equal(3, pings);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, await firstConnection.ReceiveAsync(buffer)); // the client gave up on this connection
        var accepting = silentPeer.AcceptSocketAsync();
        for (var i = 0; i < 20 && !accepting.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }

        using var secondConnection = await accepting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(secondConnection.Connected);
    }

    [Theory]
    [InlineData(1, 250, 500)]
    [InlineData(2, 500, 1000)]
    [InlineData(3, 1000, 2000)]
    [InlineData(10, 15000, 30000)]
    public void Backoff_doubles_with_jitter_up_to_the_cap(int attempt, double minMs, double maxMs)
    {
        var random = new Random(11);
        for (var i = 0; i < 100; i++)
        {
            Assert.InRange(ReconnectPolicy.Default.DelayBefore(attempt, random).TotalMilliseconds, minMs, maxMs);
        }
    }

    private static Task<McpClient> Connect(McpdTestServer server, TimeSpan? timeout = null) =>
        McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, new McpClientOptions { RequestTimeout = timeout ?? TimeSpan.FromSeconds(5) });
}
