using System.Diagnostics;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Gateway;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Mcpd.Server.Tests.Gateway;

/// <summary>
/// The gateway's answers when its device fails, with the device a real process of its own (<c>mcpd serve</c>, killed
/// with SIGKILL and started again on the same port) and real clients: issue 13, "Honest under faults". The bounds
/// asserted are the documented behaviour (docs/gateway.md, "Health") with room for a loaded machine; the figures
/// measured are written to the test output.
/// </summary>
public sealed class GatewayFaultProcessTests(ITestOutputHelper output) : IDisposable
{
    private const int Clients = 32;
    private static readonly string McpdDll = typeof(Mcpd.Cli.ExitCodes).Assembly.Location;
    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-gateway-faults-").FullName;

    [Fact]
    public async Task A_killed_device_is_answered_0B_at_once_under_load_and_a_device_that_comes_back_is_used_within_a_second()
    {
        var port = FreePort();
        var device = await StartDeviceAsync(port);
        await using var gateway = await StartGatewayAsync(port);
        var clients = await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => gateway.ConnectClientAsync(new ModbusClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) })));
        try
        {
            Assert.Equal([100], await clients[0].ReadHoldingRegistersAsync(1, 0, 1));
            using var stop = new CancellationTokenSource();
            var polls = clients.Select(client => PollAsync(client, stop.Token)).ToArray();
            await Task.Delay(500);

            device.Process.Kill();
            await device.Process.WaitForExitAsync();
            await device.DisposeAsync();
            await Eventually.HoldsAsync(() => Upstream(gateway).State == UpstreamState.Down, TimeSpan.FromSeconds(10));

            // Known down: every request of the 32 clients is answered 0x0B without waiting for anything.
            var down = await Task.WhenAll(clients.Select(client => TimeReadsAsync(client, 20)));
            var slowest = down.SelectMany(x => x).Max();
            output.WriteLine($"down: {down.Sum(x => x.Count)} answers, slowest {slowest.TotalMilliseconds:F1} ms");
            Assert.All(down.SelectMany(x => x), took => Assert.True(took < TimeSpan.FromMilliseconds(250), $"an answer took {took.TotalMilliseconds:F0} ms"));

            // The device comes back on the same port: from its first accepted connection, the gateway uses it within a second.
            device = await StartDeviceAsync(port);
            var accepting = Stopwatch.StartNew();
            await Eventually.HoldsAsync(async () =>
            {
                try
                {
                    Assert.Equal([100], await clients[0].ReadHoldingRegistersAsync(1, 0, 1));
                    return true;
                }
                catch (ModbusException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(10));
            output.WriteLine($"recovered {accepting.Elapsed.TotalMilliseconds:F0} ms after the device accepted connections");
            Assert.True(accepting.Elapsed < TimeSpan.FromSeconds(1.5), $"the device was used only after {accepting.Elapsed}");

            await stop.CancelAsync();
            await Task.WhenAll(polls);
            Assert.Equal(UpstreamState.Up, Upstream(gateway).State);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            await device.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_silent_unit_is_answered_0B_within_the_deadline_and_the_device_stays_Up()
    {
        var port = FreePort();
        await using var device = await StartDeviceAsync(port);
        await using var gateway = await StartGatewayAsync(port, new()
        {
            ["devices:1:unit"] = "7",
            ["devices:1:upstream"] = "dev",
            ["upstreams:dev:probe:interval"] = "00:00:00.2",
            ["upstreams:dev:probe:unit"] = "1",
        });
        await using var client = await gateway.ConnectClientAsync(new ModbusClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });

        // Unit 7 does not exist on the device, which ignores requests to unknown units: no answer ever comes.
        for (var i = 0; i < 5; i++)
        {
            var clock = Stopwatch.StartNew();
            var silent = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(7, 0, 1));
            output.WriteLine($"unit 7 answered 0x{(byte)silent.Code:X2} after {clock.Elapsed.TotalMilliseconds:F0} ms");
            Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, silent.Code);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(0.9), $"answered after {clock.Elapsed}: later than the 0.4 s deadline allows");
            Assert.Equal([100], await client.ReadHoldingRegistersAsync(1, 0, 1));
            Assert.Equal(UpstreamState.Up, Upstream(gateway).State);
        }

        Assert.Single(gateway.Logs.Lines, line => line.Message.Contains("unit 7 does not answer", StringComparison.Ordinal));
        Assert.DoesNotContain(gateway.Logs.Lines, line => line.Message.Contains("is Degraded", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Reads until stopped, whatever the answers; a client that keeps the gateway busy.</summary>
    private static async Task PollAsync(ModbusTcpClient client, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await client.ReadHoldingRegistersAsync(1, 0, 1, stop);
            }
            catch (Exception ex) when (ex is ModbusException or OperationCanceledException)
            {
                // 0x0B while the device is away; the stop.
            }
        }
    }

    /// <summary>The time each of <paramref name="count"/> reads took, each answered 0x0B.</summary>
    private static async Task<List<TimeSpan>> TimeReadsAsync(ModbusTcpClient client, int count)
    {
        var times = new List<TimeSpan>();
        for (var i = 0; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            var failure = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));
            times.Add(clock.Elapsed);
            Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, failure.Code);
        }

        return times;
    }

    private static IModbusUpstream Upstream(McpdTestServer gateway) => TcpGatewayTests.Upstream(gateway);

    /// <summary><c>mcpd serve</c> as the device, its built-in default device on unit 1 (holding register 0 holds 100), ignoring other units.</summary>
    private async Task<McpdProcess> StartDeviceAsync(int port)
    {
        var config = Path.Combine(_directory, "device.yaml");
        await File.WriteAllTextAsync(config, $"modbus:\n  port: {port}\n  unknownUnit: ignore\nmcp:\n  port: 0\nadmin:\n  port: 0\n");
        var (device, _) = await McpdProcess.StartAsync(McpdDll, config);
        return device;
    }

    private static Task<McpdTestServer> StartGatewayAsync(int devicePort, Dictionary<string, string?>? settings = null) =>
        TcpGatewayTests.StartGatewayAsync(devicePort, settings);

    private static int FreePort() => TcpGatewayTests.FreePort();
}
