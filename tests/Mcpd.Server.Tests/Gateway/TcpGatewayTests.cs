using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Mcpd.Client.Mcp;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Mcpd.Server.Gateway;
using Mcpd.Server.Hosting;
using Mcpd.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Gateway;

/// <summary>mcpd as a gateway to a Modbus TCP device: a second mcpd host on loopback plays the real device.</summary>
public class TcpGatewayTests
{
    private const int Clients = 32;

    [Fact]
    public async Task Thirty_two_clients_share_one_upstream_connection_and_each_gets_its_own_answer()
    {
        await using var device = await McpdTestServer.StartAsync(DeviceWithRegisters(Clients));
        await using var gateway = await StartGatewayAsync(device.ModbusEndPoint.Port, new() { ["upstreams:dev:tcp:maxConnections"] = "1" });

        var clients = await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => gateway.ConnectClientAsync()));
        try
        {
            await Task.WhenAll(clients.Select(async (client, i) =>
            {
                await client.WriteSingleRegisterAsync(1, (ushort)i, (ushort)(5000 + i));
                for (var round = 0; round < 20; round++)
                {
                    var values = await client.ReadHoldingRegistersAsync(1, (ushort)i, 1);
                    Assert.Equal(5000 + i, values[0]);
                }
            }));

            // An exception PDU of the device passes through unchanged (Application Protocol 7).
            Assert.Equal([0xC1, 0x01], await clients[0].SendAsync(1, new byte[] { 0x41 }));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        Assert.Equal(1, device.Services.GetRequiredService<ConnectionRegistry>().Count(ListenerNames.Modbus));
    }

    [Fact]
    public async Task Upstream_killed_mid_traffic_answers_0B_without_hanging_and_traffic_recovers_after_a_restart()
    {
        var device = await McpdTestServer.StartAsync(DeviceWithRegisters(8));
        var port = device.ModbusEndPoint.Port;
        await using var gateway = await StartGatewayAsync(port, new()
        {
            ["upstreams:dev:requestTimeout"] = "00:00:00.3",
            ["upstreams:dev:tcp:readRetries"] = "0",
            ["upstreams:dev:tcp:breaker:minimumThroughput"] = "4",
            ["upstreams:dev:tcp:breaker:breakDuration"] = "00:00:00.5",
            ["upstreams:dev:tcp:reconnect:baseDelay"] = "00:00:00.05",
            ["upstreams:dev:tcp:reconnect:maxDelay"] = "00:00:00.2",
        });
        var options = new ModbusClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) };
        var clients = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => gateway.ConnectClientAsync(options)));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answered = 0;
        var unanswered = 0;
        var recovered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var deviceGone = false;
        McpdTestServer? restarted = null;
        try
        {
            var traffic = clients.Select(async (client, i) =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        // Each client reads its own register: a cross-delivered answer would carry another value.
                        var values = await client.ReadHoldingRegistersAsync(1, (ushort)i, 1);
                        Assert.Equal(1000 + i, values[0]);
                        Interlocked.Increment(ref answered);
                        if (Volatile.Read(ref deviceGone) && restarted is not null)
                        {
                            recovered.TrySetResult();
                        }
                    }
                    catch (ModbusException ex)
                    {
                        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, ex.Code);
                        Interlocked.Increment(ref unanswered);
                    }
                }
            }).ToArray();

            await Eventually.HoldsAsync(() => Volatile.Read(ref answered) > 100, TimeSpan.FromSeconds(15));
            await device.DisposeAsync();
            Volatile.Write(ref deviceGone, true);
            await Eventually.HoldsAsync(() => Volatile.Read(ref unanswered) > 20, TimeSpan.FromSeconds(15));
            await gateway.Logs.WaitForAsync("is Down");

            restarted = await McpdTestServer.StartAsync(DeviceWithRegisters(8, port));
            await recovered.Task.WaitAsync(TimeSpan.FromSeconds(15));
            await stop.CancelAsync();
            await Task.WhenAll(traffic);
            await gateway.Logs.WaitForAsync("is Up");
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            if (restarted is not null)
            {
                await restarted.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Circuit_opens_after_repeated_failures_and_then_answers_0B_without_asking_the_device()
    {
        var silent = new GatedDevice();
        await using var device = await McpdTestServer.StartAsync(configure: builder => builder.Services.AddModbusDevice(1, silent));
        await using var gateway = await StartGatewayAsync(device.ModbusEndPoint.Port, new()
        {
            ["upstreams:dev:requestTimeout"] = "00:00:00.2",
            ["upstreams:dev:tcp:readRetries"] = "0",
            ["upstreams:dev:tcp:breaker:minimumThroughput"] = "3",
            ["upstreams:dev:tcp:breaker:breakDuration"] = "00:05:00",
        });
        await using var client = await gateway.ConnectClientAsync();

        for (var i = 0; i < 3; i++)
        {
            var failed = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));
            Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, failed.Code);
        }

        await Eventually.HoldsAsync(() => silent.Started == 3, TimeSpan.FromSeconds(15));
        Assert.Equal(UpstreamState.CircuitOpen, Upstream(gateway).State);
        await gateway.Logs.WaitForAsync("is CircuitOpen");

        var open = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, open.Code);
        Assert.Equal(3, silent.Started);
    }

    [Fact]
    public async Task A_probe_is_the_half_open_trial_that_closes_the_circuit_without_any_client()
    {
        var silent = new GatedDevice(then: new SimulatedDevice(DeviceOptions.CreateBuiltInDefault()));
        await using var device = await McpdTestServer.StartAsync(configure: builder => builder.Services.AddModbusDevice(2, silent));
        await using var gateway = await StartGatewayAsync(device.ModbusEndPoint.Port, new()
        {
            ["devices:0:upstreamUnit"] = "2",
            ["upstreams:dev:requestTimeout"] = "00:00:00.2",
            ["upstreams:dev:probe:interval"] = "00:00:00.2",
            ["upstreams:dev:probe:unit"] = "2",
            ["upstreams:dev:tcp:readRetries"] = "0",
            ["upstreams:dev:tcp:breaker:minimumThroughput"] = "3",
            ["upstreams:dev:tcp:breaker:breakDuration"] = "00:00:00.5",
        });
        await using var client = await gateway.ConnectClientAsync();

        // Unit 2 of the device answers nothing, not even the probe: the device counts as failed.
        var failures = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(1, 0, 1))));
        Assert.All(failures, f => Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, f.Code));
        await gateway.Logs.WaitForAsync("is CircuitOpen");

        // The device comes back; with no client asking, the probe is the trial that closes the circuit.
        silent.Open();

        await gateway.Logs.WaitForAsync("the circuit closed: the device answered");
        await Eventually.HoldsAsync(() => Upstream(gateway).State == UpstreamState.Up, TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task A_read_that_failed_at_once_is_retried_within_its_deadline_and_a_write_or_a_timed_out_read_is_sent_once()
    {
        using var breaking = new TcpListener(IPAddress.Loopback, 0);
        breaking.Start();
        var requests = 0;
        var device = ResetEveryRequestAsync(breaking, () => Interlocked.Increment(ref requests));
        await using var gateway = await StartGatewayAsync(((IPEndPoint)breaking.LocalEndpoint).Port, new()
        {
            ["upstreams:dev:tcp:readRetries"] = "2",
            ["upstreams:dev:tcp:retryDelay"] = "00:00:00.01",
            ["upstreams:dev:tcp:breaker:minimumThroughput"] = "100",
        });
        await using var client = await gateway.ConnectClientAsync();

        // The device resets the connection on every request (as one that restarted): the read is tried 3 times.
        var read = await Assert.ThrowsAsync<ModbusException>(() => client.ReadInputRegistersAsync(1, 0, 1));
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, read.Code);
        Assert.Equal(3, Volatile.Read(ref requests));

        var write = await Assert.ThrowsAsync<ModbusException>(() => client.WriteSingleRegisterAsync(1, 0, 7));
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, write.Code);
        Assert.Equal(4, Volatile.Read(ref requests));
        Assert.False(device.IsFaulted, device.Exception?.ToString());

        // A read that got no answer has used its deadline: it is not sent again.
        var silent = new GatedDevice();
        await using var slow = await McpdTestServer.StartAsync(configure: builder => builder.Services.AddModbusDevice(1, silent));
        await using var patient = await StartGatewayAsync(slow.ModbusEndPoint.Port, new() { ["upstreams:dev:requestTimeout"] = "00:00:00.2", ["upstreams:dev:tcp:readRetries"] = "2" });
        await using var other = await patient.ConnectClientAsync();
        var timedOut = await Assert.ThrowsAsync<ModbusException>(() => other.ReadInputRegistersAsync(1, 0, 1));
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, timedOut.Code);
        Assert.Equal(1, silent.Started);
        Assert.Equal(UpstreamState.Degraded, Upstream(patient).State);
    }

    [Fact]
    public async Task No_slot_within_the_acquire_timeout_or_a_full_queue_answers_0A()
    {
        var silent = new GatedDevice();
        await using var device = await McpdTestServer.StartAsync(configure: builder => builder.Services.AddModbusDevice(1, silent));
        Dictionary<string, string?> oneSlot = new()
        {
            ["upstreams:dev:requestTimeout"] = "00:00:05",
            ["upstreams:dev:tcp:maxConnections"] = "1",
            ["upstreams:dev:tcp:maxInFlightPerConnection"] = "1",
            ["upstreams:dev:tcp:readRetries"] = "0",
        };
        await using var waits = await StartGatewayAsync(device.ModbusEndPoint.Port, new(oneSlot) { ["upstreams:dev:tcp:acquireTimeout"] = "00:00:00.2" });
        await using var queueless = await StartGatewayAsync(device.ModbusEndPoint.Port, new(oneSlot) { ["upstreams:dev:tcp:acquireTimeout"] = "00:00:30", ["upstreams:dev:tcp:queueLimit"] = "0" });

        foreach (var gateway in new[] { waits, queueless })
        {
            await using var holder = await gateway.ConnectClientAsync();
            await using var other = await gateway.ConnectClientAsync();
            var started = silent.Started;
            var held = holder.ReadHoldingRegistersAsync(1, 0, 1);
            await Eventually.HoldsAsync(() => silent.Started > started, TimeSpan.FromSeconds(15));

            var clock = Stopwatch.StartNew();
            var refused = await Assert.ThrowsAsync<ModbusException>(() => other.ReadHoldingRegistersAsync(1, 0, 1));
            Assert.Equal(ModbusExceptionCode.GatewayPathUnavailable, refused.Code);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"answered after {clock.Elapsed}");
            Assert.False(held.IsCompleted);
        }

        silent.Open();
    }

    [Fact]
    public async Task A_response_from_another_unit_closes_that_connection_and_fails_only_its_request()
    {
        using var liar = new TcpListener(IPAddress.Loopback, 0);
        liar.Start();
        var answering = AnswerFromTheWrongUnitAsync(liar);
        await using var gateway = await StartGatewayAsync(((IPEndPoint)liar.LocalEndpoint).Port, new() { ["upstreams:dev:tcp:readRetries"] = "0" });
        await using var client = await gateway.ConnectClientAsync();

        var failed = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));

        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, failed.Code);
        var line = await gateway.Logs.WaitForAsync("unit 2 answered a request to unit 1");
        Assert.Equal(625, line.EventId.Id);
        await answering.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_device_that_takes_one_connection_serves_concurrent_requests_on_it_without_failures()
    {
        var gated = new GatedDevice();
        var registers = DeviceWithRegisters(1);
        registers["devices:0:unit"] = "2";
        await using var device = await McpdTestServer.StartAsync(registers, builder => builder.Services.AddModbusDevice(1, gated));
        using var front = new TcpListener(IPAddress.Loopback, 0);
        front.Start();
        var proxy = ProxyOneConnectionAsync(front, device.ModbusEndPoint.Port);
        await using var gateway = await StartGatewayAsync(((IPEndPoint)front.LocalEndpoint).Port, new()
        {
            ["upstreams:dev:requestTimeout"] = "00:00:10",
            ["upstreams:dev:tcp:readRetries"] = "0",
            ["upstreams:dev:tcp:breaker:minimumThroughput"] = "2",
            ["devices:1:unit"] = "2",
            ["devices:1:upstream"] = "dev",
        });
        var clients = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => gateway.ConnectClientAsync(new ModbusClientOptions { RequestTimeout = TimeSpan.FromSeconds(20) })));
        try
        {
            // The one connection the device takes; from here on it refuses every other.
            Assert.Equal([1000], await clients[0].ReadHoldingRegistersAsync(2, 0, 1));

            // Each write finds the connection busy and opens another, which is refused: the writes go on the one
            // that works (FC06 is answered by its echo, which the gated device sends once opened).
            var writes = clients.Select((client, i) => client.WriteSingleRegisterAsync(1, (ushort)i, 7)).ToArray();
            await Eventually.HoldsAsync(() => gated.Started == writes.Length || writes.Any(w => w.IsCompleted), TimeSpan.FromSeconds(15));
            gated.Open();
            await Task.WhenAll(writes);

            Assert.Equal(UpstreamState.Up, Upstream(gateway).State);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        Assert.False(proxy.IsFaulted, proxy.Exception?.ToString());
    }

    [Fact]
    public async Task Stopping_the_gateway_answers_waiting_requests_0B()
    {
        var silent = new GatedDevice();
        await using var device = await McpdTestServer.StartAsync(configure: builder => builder.Services.AddModbusDevice(1, silent));
        await using var gateway = await StartGatewayAsync(device.ModbusEndPoint.Port, new() { ["upstreams:dev:requestTimeout"] = "00:01:00" });
        await using var client = await gateway.ConnectClientAsync(new ModbusClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) });
        var waiting = client.ReadHoldingRegistersAsync(1, 0, 1);
        await Eventually.HoldsAsync(() => silent.Started == 1, TimeSpan.FromSeconds(15));

        await gateway.Services.GetRequiredService<UpstreamRegistry>().DisposeAsync();

        var failed = await Assert.ThrowsAsync<ModbusException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, failed.Code);
    }

    [Fact]
    public async Task Sys_info_shows_each_upstream_with_its_kind_address_and_state()
    {
        await using var device = await McpdTestServer.StartAsync();
        await using var gateway = await StartGatewayAsync(device.ModbusEndPoint.Port);
        await using (var modbus = await gateway.ConnectClientAsync())
        {
            Assert.Equal([100], await modbus.ReadHoldingRegistersAsync(1, 0, 1));
        }

        await using var mcp = await McpClient.ConnectAsync("127.0.0.1", gateway.McpEndPoint.Port);
        var response = await mcp.CallAsync("sys.info");

        using var json = JsonDocument.Parse(response.Body);
        var upstream = json.RootElement.GetProperty("upstreams").GetProperty("dev");
        Assert.Equal("tcp", upstream.GetProperty("kind").GetString());
        Assert.Equal($"127.0.0.1:{device.ModbusEndPoint.Port}", upstream.GetProperty("address").GetString());
        Assert.Equal("Up", upstream.GetProperty("state").GetString());
    }

    [Fact]
    public async Task An_unreachable_device_is_Down_answers_0B_at_once_and_is_reconnected_after_the_backoff()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var port = FreePort();
        await using var gateway = await StartGatewayAsync(port, new()
        {
            ["upstreams:dev:tcp:readRetries"] = "0",
            ["upstreams:dev:tcp:reconnect:baseDelay"] = "00:00:01",
            ["upstreams:dev:tcp:reconnect:maxDelay"] = "00:00:01",
        }, builder => builder.Services.AddSingleton<TimeProvider>(time));
        await using var client = await gateway.ConnectClientAsync();

        var refused = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, refused.Code);
        Assert.Equal(UpstreamState.Down, Upstream(gateway).State);
        await gateway.Logs.WaitForAsync("is Down (was Up): cannot connect");

        await using var device = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["modbus:port"] = $"{port}" });

        // Down: answered at once, no connect until the backoff delay has passed on the gateway's clock.
        var meanwhile = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, meanwhile.Code);
        Assert.Equal(0, device.Services.GetRequiredService<ConnectionRegistry>().Count(ListenerNames.Modbus));

        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.HoldsAsync(() => Upstream(gateway).State != UpstreamState.Down, TimeSpan.FromSeconds(15));
        Assert.Equal([100], await client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(UpstreamState.Up, Upstream(gateway).State);
        await gateway.Logs.WaitForAsync("reconnected after 1 attempt(s)");
    }

    internal static IModbusUpstream Upstream(McpdTestServer gateway) => gateway.Services.GetRequiredService<UpstreamRegistry>()["dev"];

    /// <summary>A gateway whose unit 1 is unit 1 of the device on <paramref name="devicePort"/> through upstream <c>dev</c> (no probe), <paramref name="settings"/> on top.</summary>
    internal static Task<McpdTestServer> StartGatewayAsync(int devicePort, Dictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["upstreams:dev:address"] = $"127.0.0.1:{devicePort}",
            ["upstreams:dev:probe:interval"] = "00:00:00",
            ["devices:0:unit"] = "1",
            ["devices:0:upstream"] = "dev",
        };
        foreach (var (key, value) in settings ?? [])
        {
            values[key] = value;
        }

        return McpdTestServer.StartAsync(values, configure);
    }

    internal static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Unit 1 with holding registers 0..count-1 holding 1000 + address.</summary>
    private static Dictionary<string, string?> DeviceWithRegisters(int count, int port = 0)
    {
        var settings = new Dictionary<string, string?> { ["modbus:port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture), ["devices:0:unit"] = "1" };
        for (var i = 0; i < count; i++)
        {
            settings[$"devices:0:registers:{i}:address"] = $"{i}";
            settings[$"devices:0:registers:{i}:name"] = $"r{i}";
            settings[$"devices:0:registers:{i}:value"] = $"{1000 + i}";
        }

        return settings;
    }

    /// <summary>A broken device: answers every request echoing it, but from unit 2.</summary>
    private static async Task AnswerFromTheWrongUnitAsync(TcpListener listener)
    {
        using var socket = await listener.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var header = new byte[7];
        await socket.ReceiveAsync(header);
        var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(4));
        var pdu = new byte[length - 1];
        var received = 0;
        while (received < pdu.Length)
        {
            received += await socket.ReceiveAsync(pdu.AsMemory(received));
        }

        header[6] = 2;
        await socket.SendAsync(header.Concat(pdu).ToArray());
        using var drained = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (await socket.ReceiveAsync(new byte[64], drained.Token) > 0)
        {
            // The gateway closes the connection after the wrong answer.
        }
    }

    /// <summary>A device that resets its connection on every request it receives, counting them.</summary>
    private static async Task ResetEveryRequestAsync(TcpListener listener, Action counted)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return;
            }

            using (socket)
            {
                if (await socket.ReceiveAsync(new byte[260]) > 0)
                {
                    counted();
                }

                // Linger 0: closing sends RST, as a device that lost the connection's state does.
                socket.LingerState = new LingerOption(true, 0);
            }
        }
    }

    /// <summary>A device that takes one connection: the first is relayed to the device on <paramref name="port"/>, then the listener closes.</summary>
    private static async Task ProxyOneConnectionAsync(TcpListener listener, int port)
    {
        using var inbound = await listener.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(10));
        listener.Stop();
        using var outbound = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await outbound.ConnectAsync(IPAddress.Loopback, port);
        await using var client = new NetworkStream(inbound);
        await using var server = new NetworkStream(outbound);
        try
        {
            await Task.WhenAny(client.CopyToAsync(server), server.CopyToAsync(client));
        }
        catch (IOException)
        {
            // One side closed.
        }
    }
}
