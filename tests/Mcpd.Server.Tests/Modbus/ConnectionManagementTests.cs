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
    public async Task At_the_limit_the_oldest_idle_connection_is_closed_to_admit_a_new_one()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["modbus:maxConnections"] = "2" });
        using var oldest = await server.ConnectRawAsync();
        await oldest.SendHexAsync("000100000006010300000001");
        await oldest.ReceiveHexAsync(11);
        await Task.Delay(50);
        using var recent = await server.ConnectRawAsync();
        await recent.SendHexAsync("000100000006010300000001");
        await recent.ReceiveHexAsync(11);
        await WaitForCountAsync(server, 2);

        using var newcomer = await server.ConnectRawAsync();

        Assert.True(await oldest.IsClosedByServerAsync());
        await newcomer.SendHexAsync("000900000006010300000001");
        Assert.Equal("0009000000050103020064", await newcomer.ReceiveHexAsync(11));
        await recent.SendHexAsync("000200000006010300000001");
        Assert.Equal("0002000000050103020064", await recent.ReceiveHexAsync(11));
        await server.Logs.WaitForAsync("closed the oldest idle connection");
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
