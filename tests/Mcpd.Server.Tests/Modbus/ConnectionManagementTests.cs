using System.Net;
using System.Net.Sockets;
using Mcpd.Server.Connections;
using Mcpd.Server.Hosting;
using Mcpd.Server.Transport;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Modbus;

/// <summary>Connection limits, idle timeout, in-flight limit and graceful shutdown over real sockets.</summary>
public abstract class ConnectionManagementTests(TransportKind transport)
{
    [Fact]
    public async Task Transactions_beyond_the_in_flight_limit_answer_exception_06_and_the_others_complete()
    {
        var device = new GatedDevice();
        await using var server = await StartAsync(
            new Dictionary<string, string?> { ["modbus:maxInFlightPerConnection"] = "2" },
            builder => builder.Services.AddModbusDevice(2, device));
        using var socket = await server.ConnectRawAsync();

        await socket.SendHexAsync("000100000006020300000001" + "000200000006020300000001" + "000300000006020300000001");

        // The third is refused at once with 06 (server busy); the first two wait for the device.
        Assert.Equal("000300000003028306", await socket.ReceiveHexAsync(9));
        device.Open();
        var answers = new[] { await socket.ReceiveHexAsync(12), await socket.ReceiveHexAsync(12) };
        Assert.Equal(["000100000006020300000001", "000200000006020300000001"], answers.Order());
    }

    [Fact]
    public async Task At_the_limit_a_connection_without_requests_goes_first_then_the_one_whose_last_request_is_oldest_and_no_longer_recent()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await StartAsync(
            new Dictionary<string, string?> { ["modbus:maxConnections"] = "3", ["modbus:protectAfterRequest"] = "00:00:10" },
            builder => builder.Services.AddSingleton<TimeProvider>(time));
        using var oldest = await server.ConnectRawAsync();
        await PollAsync(oldest, 1);
        time.Advance(TimeSpan.FromSeconds(5));
        using var recent = await server.ConnectRawAsync();
        await PollAsync(recent, 1);
        using var silent = await server.ConnectRawAsync();
        await WaitForCountAsync(server, 3);
        time.Advance(TimeSpan.FromSeconds(2));

        // 7 s: the silent connection never completed a request; it goes first, whatever its age.
        using var first = await server.ConnectRawAsync();
        Assert.True(await silent.IsClosedByServerAsync());
        await PollAsync(first, 1);

        // Every connection completed a request within 10 s: none is closed for a newcomer, which is refused.
        using var refused = await server.ConnectRawAsync();
        Assert.True(await refused.IsClosedByServerAsync());
        await server.Logs.WaitForAsync("every connection completed a request within 00:00:10");

        // 11 s: the oldest request is no longer recent; its connection makes room.
        time.Advance(TimeSpan.FromSeconds(4));
        using var second = await server.ConnectRawAsync();
        Assert.True(await oldest.IsClosedByServerAsync());
        await server.Logs.WaitForAsync("closed the oldest idle connection");
        await PollAsync(recent, 2);
        await PollAsync(first, 2);
        await PollAsync(second, 1);
    }

    [Fact]
    public async Task A_poller_is_never_evicted_by_connections_that_send_frames_but_no_requests_and_a_stream_of_trickling_newcomers()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["modbus:maxConnections"] = "20" });
        using var poller = await server.ConnectRawAsync();
        await PollAsync(poller, 0);
        List<Socket> chatterers = [];
        for (var i = 0; i < 19; i++)
        {
            chatterers.Add(await server.ConnectRawAsync());
        }

        await WaitForCountAsync(server, 20);
        List<Socket> newcomers = [];

        // Every 100 ms each chatterer sends a complete frame of another protocol (discarded unanswered, but a frame),
        // and each newcomer one more byte of a request of 254 bytes that never completes; every 500 ms a newcomer
        // connects and sends that request's header.
        await Attack.WhilePollingAsync(
            async tick =>
            {
                await chatterers.SendHexToEachAsync("00000001000201" + "03");
                await newcomers.SendHexToEachAsync("00");
                if (tick % 5 == 0)
                {
                    var newcomer = await server.ConnectRawAsync();
                    await newcomer.SendHexAsync("0001000000FE01");
                    newcomers.Add(newcomer);
                }
            },
            polls: 8,
            poll => PollAsync(poller, (ushort)poll));

        var evictions = server.Logs.Lines.Count(l => l.Message.Contains("closed the oldest idle connection", StringComparison.Ordinal));
        Assert.True(evictions >= 8, $"{evictions} evictions: the attack did not keep the listener at its limit");
        Assert.DoesNotContain(server.Logs.Lines, l => l.Message.Contains($"from {poller.LocalEndPoint}", StringComparison.Ordinal) && l.Message.Contains("closed", StringComparison.Ordinal));
        foreach (var socket in chatterers.Concat(newcomers))
        {
            socket.Dispose();
        }
    }

    [Fact]
    public async Task Connections_beyond_the_limit_per_address_are_refused_while_other_addresses_come_in()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["modbus:maxConnectionsPerAddress"] = "2" });
        using var first = await server.ConnectRawAsync();
        using var second = await server.ConnectRawAsync();
        await WaitForCountAsync(server, 2);

        using var third = await server.ConnectRawAsync();
        using var elsewhere = await server.ConnectRawAsync(from: IPAddress.Parse("127.0.0.2"));

        Assert.True(await third.IsClosedByServerAsync());
        var line = await server.Logs.WaitForAsync("refused a connection from 127.0.0.1");
        Assert.Contains("2 connections from 127.0.0.1, the most per address (maxConnectionsPerAddress)", line.Message, StringComparison.Ordinal);
        await PollAsync(elsewhere, 1);
        await PollAsync(first, 1);
        first.Dispose();
        await WaitForCountAsync(server, 2);
        using var fourth = await server.ConnectRawAsync();
        await PollAsync(fourth, 1);
    }

    [Fact]
    public async Task At_the_limit_with_policy_Refuse_the_new_connection_is_closed()
    {
        await using var server = await StartAsync(new Dictionary<string, string?>
        {
            ["modbus:maxConnections"] = "1",
            ["modbus:connectionLimitPolicy"] = "Refuse",
        });
        using var first = await server.ConnectRawAsync();
        await WaitForCountAsync(server, 1);

        using var second = await server.ConnectRawAsync();

        Assert.True(await second.IsClosedByServerAsync());
        await server.Logs.WaitForAsync("refused a connection");
        await first.SendHexAsync("000100000006010300000001");
        Assert.Equal("0001000000050103020064", await first.ReceiveHexAsync(11));
    }

    [Fact]
    public async Task Idle_connection_is_closed_after_the_idle_timeout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await StartAsync(
            new Dictionary<string, string?> { ["modbus:idleTimeout"] = "00:00:30" },
            builder => builder.Services.AddSingleton<TimeProvider>(time));
        using var idle = await server.ConnectRawAsync();
        using var busy = await server.ConnectRawAsync();
        await WaitForCountAsync(server, 2);

        for (var second = 0; second < 40; second++)
        {
            await busy.SendHexAsync("000100000006010300000001");
            await busy.ReceiveHexAsync(11);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.True(await idle.IsClosedByServerAsync());
        await server.Logs.WaitForAsync("idle for more than 00:00:30");
        await busy.SendHexAsync("000200000006010300000001");
        Assert.Equal("0002000000050103020064", await busy.ReceiveHexAsync(11));
    }

    [Fact]
    public async Task Graceful_shutdown_lets_in_flight_requests_finish()
    {
        var device = new GatedDevice();
        var server = await StartAsync(null, builder => builder.Services.AddModbusDevice(2, device));
        await using (server)
        {
            using var socket = await server.ConnectRawAsync();
            await socket.SendHexAsync("000700000006020300000001");
            while (device.Started == 0)
            {
                await Task.Delay(10);
            }

            var stopping = server.StopAsync();
            await Task.Delay(200);
            Assert.False(stopping.IsCompleted, "the host must wait for the transaction in flight");
            device.Open();

            Assert.Equal("000700000006020300000001", await socket.ReceiveHexAsync(12));
            await stopping;
            Assert.True(await socket.IsClosedByServerAsync());
        }
    }

    /// <summary>Reads holding register 0 of unit 1 with transaction id <paramref name="transaction"/> and checks the answer.</summary>
    private static async Task PollAsync(Socket socket, ushort transaction)
    {
        await socket.SendHexAsync($"{transaction:X4}00000006010300000001");
        Assert.Equal($"{transaction:X4}000000050103020064", await socket.ReceiveHexAsync(11));
    }

    private static async Task WaitForCountAsync(McpdTestServer server, int count)
    {
        var registry = server.Services.GetRequiredService<ConnectionRegistry>();
        for (var i = 0; i < 200 && registry.Count(ListenerNames.Modbus) != count; i++)
        {
            await Task.Delay(10);
        }

        Assert.Equal(count, registry.Count(ListenerNames.Modbus));
    }

    private Task<McpdTestServer> StartAsync(Dictionary<string, string?>? settings = null, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null) =>
        McpdTestServer.StartAsync(McpdTestServer.WithTransport(transport, settings), configure);
}

/// <summary>The tests above over mcpd's epoll transport.</summary>
public sealed class ConnectionManagementTestsOnEpoll() : ConnectionManagementTests(TransportKind.Epoll);

/// <summary>The tests above over Kestrel's socket transport.</summary>
public sealed class ConnectionManagementTestsOnSockets() : ConnectionManagementTests(TransportKind.Sockets);
