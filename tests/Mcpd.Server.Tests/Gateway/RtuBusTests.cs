using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;
using Mcpd.Server.Gateway;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Mcpd.Server.Tests.Gateway;

/// <summary>
/// The real host as a gateway to an RTU bus: a pseudo-terminal pair made by socat is the serial line, simulated
/// slaves serve units 1 and 2 at its other end, and Modbus TCP clients talk to mcpd.
/// </summary>
public sealed class RtuBusTests
{
    [Fact]
    public async Task Reads_writes_and_device_identification_reach_the_units_on_the_bus()
    {
        await using var bus = await RtuBench.StartAsync();
        await using var client = await bus.Server.ConnectClientAsync();

        await client.WriteSingleRegisterAsync(1, 5, 1234);
        await client.WriteMultipleRegistersAsync(2, 0, new ushort[] { 7, 8, 9 });

        Assert.Equal([1234], await client.ReadHoldingRegistersAsync(1, 5, 1));
        Assert.Equal([7, 8, 9], await client.ReadHoldingRegistersAsync(2, 0, 3));
        Assert.Equal([0], await client.ReadHoldingRegistersAsync(2, 5, 1));
        Assert.Equal("mcpd", (await client.ReadDeviceIdentificationAsync(2))[0]);
        var error = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(1, 99, 2));
        Assert.Equal(ModbusExceptionCode.IllegalDataAddress, error.Code);
        Assert.Equal(UpstreamState.Up, bus.Upstream.State);
    }

    [Fact]
    public async Task A_response_with_a_bad_crc_is_no_answer_and_the_next_requests_succeed()
    {
        await using var bus = await RtuBench.StartAsync();
        await using var client = await bus.Server.ConnectClientAsync();
        bus.Slave[1].Bank.WriteRegisters(RegisterTable.Holding, 0, [42]);
        bus.Slave.CorruptResponses(1, 3);

        // A read is sent twice (readRetries 1): both answers garbled, 0x0B; then one garbled answer, and the retry's.
        var error = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, error.Code);

        Assert.Equal([42], await client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal([42], await client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(3, bus.Upstream.CrcErrors);
        Assert.Equal(3, bus.Server.Logs.Lines.Count(l => l.EventId.Id == 645));
        // Noise is not the unit's fault: a unit with CRC errors is never quarantined.
        Assert.DoesNotContain(bus.Server.Logs.Lines, l => l.EventId.Id == 643);
    }

    [Fact]
    public async Task Noise_on_the_line_is_flushed_or_skipped_and_requests_still_succeed()
    {
        await using var bus = await RtuBench.StartAsync();
        await using var client = await bus.Server.ConnectClientAsync();
        bus.Slave[1].Bank.WriteRegisters(RegisterTable.Holding, 0, [4711]);

        for (var i = 0; i < 50 && !bus.Server.Logs.Lines.Any(l => l.EventId.Id == 646); i++)
        {
            await bus.Slave.InjectAsync([0xFF, 0x00, 0x13, 0x37]);
            Assert.Equal([4711], await client.ReadHoldingRegistersAsync(1, 0, 1));
        }

        Assert.Contains(bus.Server.Logs.Lines, l => l.EventId.Id == 646 && l.Message.Contains("flushed 4 stray bytes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_late_answer_to_a_timed_out_request_is_not_taken_for_the_next_answer()
    {
        await using var bus = await RtuBench.StartAsync(new() { ["upstreams:bus:rtu:readRetries"] = "0" });
        await using var client = await bus.Server.ConnectClientAsync();
        bus.Slave[1].Bank.WriteRegisters(RegisterTable.Holding, 0, [11, 22]);
        bus.Slave.ResponseDelay = TimeSpan.FromMilliseconds(1300);

        var error = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(1, 0, 2));
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, error.Code);
        bus.Slave.ResponseDelay = TimeSpan.Zero;

        // The late answer (4 bytes of data) arrives in the quiet time after the timeout and is dropped.
        Assert.Equal([11], await client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Contains(bus.Server.Logs.Lines, l => l.EventId.Id == 646 && l.Message.Contains("flushed 9 stray bytes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_late_answer_of_the_same_size_is_not_taken_for_the_answer_to_a_read_of_other_registers()
    {
        await using var bus = await RtuBench.StartAsync(new() { ["upstreams:bus:rtu:readRetries"] = "0" });
        await using var client = await bus.Server.ConnectClientAsync();
        bus.Slave[1].Bank.WriteRegisters(RegisterTable.Holding, 0, [11, 22, 33, 44]);
        bus.Slave.ResponseDelay = TimeSpan.FromMilliseconds(1300);

        var error = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(1, 0, 2));
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, error.Code);
        bus.Slave.ResponseDelay = TimeSpan.Zero;

        // Same unit, function and byte count: only the quiet time after the timeout keeps the late answer out.
        Assert.Equal([33, 44], await client.ReadHoldingRegistersAsync(1, 2, 2));
    }

    [Fact]
    public async Task A_request_too_short_for_its_function_is_answered_03_without_touching_the_bus()
    {
        await using var bus = await RtuBench.StartAsync();
        await using var client = await bus.Server.ConnectClientAsync();
        var heardBefore = bus.Slave.Requests(1);
        var response = new byte[ModbusLimits.MaxPduLength];

        var origin = new ModbusAnswerOrigin();

        var length = await bus.Upstream.ExecuteAsync(1, new byte[] { 0x06, 0x00 }, response, new ModbusCaller("test", origin), CancellationToken.None);

        Assert.Equal("8603", Convert.ToHexString(response, 0, length));
        Assert.True(origin.ByGateway, "the 03 is mcpd's, not the slave's");
        Assert.Equal(heardBefore, bus.Slave.Requests(1));
        Assert.Equal([0], await client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(UpstreamState.Up, bus.Upstream.State);
        // And an answer is never matched by reading past the end of a short request.
        Assert.False(ModbusResponsePdu.Answers([0x06], [0x06, 0x00, 0x01, 0x00, 0x02]));
    }

    [Fact]
    public async Task An_answer_that_starts_before_the_timeout_and_ends_after_it_is_received_whole()
    {
        await using var converter = await FakeConverter.StartAsync(new()
        {
            ["upstreams:bus:requestTimeout"] = "00:00:00.500",
            ["upstreams:bus:rtu:baudRate"] = "1200",
            ["upstreams:bus:rtu:readRetries"] = "0",
        });
        await using var client = await converter.Server.ConnectClientAsync();

        var read = client.ReadHoldingRegistersAsync(1, 0, 1);
        await converter.ReceiveRequestAsync();
        var answer = new byte[ModbusRtuCodec.MaxAduLength];
        var length = ModbusRtuCodec.Encode(1, [0x03, 0x02, 0x12, 0x34], answer);
        // The slave's behaviour, not an assertion: the first byte 200 ms into the 500 ms timeout, the rest after it,
        // within the time a longest ADU takes at 1200 baud (2.3 s).
        await Task.Delay(200);
        await converter.Line.SendAsync(answer.AsMemory(0, 1));
        await Task.Delay(700);
        await converter.Line.SendAsync(answer.AsMemory(1, length - 1));

        Assert.Equal([0x1234], await read);
    }

    [Fact]
    public async Task A_line_that_breaks_after_the_request_was_sent_is_answered_0B()
    {
        await using var converter = await FakeConverter.StartAsync();
        await using var client = await converter.Server.ConnectClientAsync();

        var read = client.ReadHoldingRegistersAsync(1, 0, 1);
        await converter.ReceiveRequestAsync();
        converter.Line.Close();

        var error = await Assert.ThrowsAsync<ModbusException>(() => read);
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, error.Code);
    }

    [Fact]
    public async Task Requests_racing_with_the_bus_closing_are_all_answered()
    {
        await using var bus = await RtuBench.StartAsync();
        var request = new byte[5];
        ModbusRequestPdu.Read(request, ModbusFunctionCode.ReadHoldingRegisters, 0, 1);
        using var stop = new CancellationTokenSource();
        var callers = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            var response = new byte[ModbusLimits.MaxPduLength];
            var caller = new ModbusCaller($"caller {i}");
            while (!stop.IsCancellationRequested)
            {
                var length = await bus.Upstream.ExecuteAsync(1, request, response, caller, CancellationToken.None);
                Assert.True(length > 0 && response[0] is 0x03 or 0x83, Convert.ToHexString(response, 0, length));
            }
        })).ToArray();
        var deadline = Stopwatch.StartNew();
        while (bus.Slave.Requests(1) < 5 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(5);
        }

        await bus.Upstream.DisposeAsync();
        stop.CancelAfter(TimeSpan.FromMilliseconds(200));

        // Every request enqueued around the closing is answered: none is left waiting for a worker that is gone.
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task A_dead_unit_is_quarantined_and_does_not_stall_a_live_unit_on_the_same_bus()
    {
        await using var bus = await RtuBench.StartAsync(new()
        {
            ["upstreams:bus:requestTimeout"] = "00:00:02",
            ["upstreams:bus:rtu:quarantine:failures"] = "1",
            ["upstreams:bus:rtu:quarantine:baseDelay"] = "00:00:30",
        });
        await using var deadClient = await bus.Server.ConnectClientAsync();
        await using var liveClient = await bus.Server.ConnectClientAsync();
        bus.Slave.SetDead(2, true);

        var timedOut = await Assert.ThrowsAsync<ModbusException>(() => deadClient.ReadHoldingRegistersAsync(2, 0, 1));
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, timedOut.Code);
        await bus.Server.Logs.WaitForAsync("unit 2 quarantined");
        Assert.Equal(UpstreamState.Degraded, bus.Upstream.State);
        var heardBefore = bus.Slave.Requests(2);
        // The first read after the timeout waits out its quiet time (a late answer may still come): not measured.
        Assert.Equal([0], await liveClient.ReadHoldingRegistersAsync(1, 0, 1));

        // The dead unit's client keeps asking while the live unit is read: its requests are answered 0x0B without
        // touching the bus, so the live unit's reads never wait behind a timeout: one alone would take 2 s.
        var flood = Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                var error = await Assert.ThrowsAsync<ModbusException>(() => deadClient.ReadHoldingRegistersAsync(2, 0, 1));
                Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, error.Code);
            }
        });
        var elapsed = Stopwatch.StartNew();
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal([0], await liveClient.ReadHoldingRegistersAsync(1, 0, 1));
        }

        elapsed.Stop();
        await flood;
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(2), $"20 reads of the live unit took {elapsed.Elapsed}");
        Assert.Equal(heardBefore, bus.Slave.Requests(2));
    }

    [Fact]
    public async Task A_quarantined_unit_that_answers_again_is_let_back_after_its_backoff()
    {
        await using var bus = await RtuBench.StartAsync(new()
        {
            ["upstreams:bus:rtu:quarantine:failures"] = "1",
            ["upstreams:bus:rtu:quarantine:baseDelay"] = "00:00:00.200",
        });
        await using var client = await bus.Server.ConnectClientAsync();
        bus.Slave.SetDead(2, true);
        await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(2, 0, 1));
        await bus.Server.Logs.WaitForAsync("unit 2 quarantined");

        bus.Slave.SetDead(2, false);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                Assert.Equal([0], await client.ReadHoldingRegistersAsync(2, 0, 1));
                break;
            }
            catch (ModbusException e) when (e.Code == ModbusExceptionCode.GatewayTargetDeviceFailedToRespond && deadline.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(50);
            }
        }

        await bus.Server.Logs.WaitForAsync("unit 2 answers again");
    }

    [Fact]
    public async Task Requests_beyond_the_queue_limit_are_answered_06()
    {
        await using var bus = await RtuBench.StartAsync(new() { ["upstreams:bus:rtu:queueLimit"] = "2" });
        bus.Slave.ResponseDelay = TimeSpan.FromMilliseconds(100);
        await using var client = await bus.Server.ConnectClientAsync();

        var reads = Enumerable.Range(0, 6).Select(i => client.ReadHoldingRegistersAsync(1, (ushort)i, 1)).ToArray();
        var busy = 0;
        var answered = 0;
        foreach (var read in reads)
        {
            try
            {
                await read;
                answered++;
            }
            catch (ModbusException e) when (e.Code == ModbusExceptionCode.ServerDeviceBusy)
            {
                busy++;
            }
        }

        // One on the bus (or about to be), two waiting: the rest are refused at once.
        Assert.InRange(answered, 2, 3);
        Assert.Equal(6 - answered, busy);
    }

    [Fact]
    public async Task A_flooding_client_does_not_starve_another()
    {
        await using var bus = await RtuBench.StartAsync();
        bus.Slave.ResponseDelay = TimeSpan.FromMilliseconds(20);
        await using var flooder = await bus.Server.ConnectClientAsync();
        await using var other = await bus.Server.ConnectClientAsync();

        var completed = 0;
        var flood = Enumerable.Range(0, 15)
            .Select(async i =>
            {
                await flooder.ReadHoldingRegistersAsync(1, (ushort)i, 1);
                Interlocked.Increment(ref completed);
            })
            .ToArray();
        var deadline = Stopwatch.StartNew();
        while (bus.Slave.Requests(1) == 0 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(1);
        }

        await other.ReadHoldingRegistersAsync(2, 0, 1);
        var floodDoneBefore = Volatile.Read(ref completed);
        await Task.WhenAll(flood);

        // Round-robin: the other client waits for the flooder's request on the bus and at most one more.
        Assert.InRange(floodDoneBefore, 0, 3);
        Assert.Equal(15, completed);
    }

    [Fact]
    public async Task The_probe_reads_while_the_bus_is_idle_and_finds_a_dead_unit_without_any_client()
    {
        await using var bus = await RtuBench.StartAsync(new()
        {
            ["upstreams:bus:probe:interval"] = "00:00:00.050",
            ["upstreams:bus:probe:unit"] = "2",
            ["upstreams:bus:rtu:quarantine:failures"] = "2",
        });
        var deadline = Stopwatch.StartNew();
        while (bus.Slave.Requests(2) < 2 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10);
        }

        Assert.True(bus.Slave.Requests(2) >= 2, "the probe never read unit 2");
        Assert.Equal(UpstreamState.Up, bus.Upstream.State);

        bus.Slave.SetDead(2, true);
        await bus.Server.Logs.WaitForAsync("unit 2 quarantined");
        await bus.Server.Logs.WaitForAsync("is Degraded");
        Assert.Equal(UpstreamState.Degraded, bus.Upstream.State);
    }

    [Fact]
    public async Task A_broadcast_is_sent_to_every_unit_and_not_answered()
    {
        await using var bus = await RtuBench.StartAsync(new() { ["upstreams:bus:rtu:turnaroundDelay"] = "00:00:00.050" });
        var request = new byte[5];
        ModbusRequestPdu.WriteSingleRegister(request, 3, 77);
        var response = new byte[ModbusLimits.MaxPduLength];

        var length = await bus.Upstream.ExecuteAsync(0, request, response, new ModbusCaller("test"), CancellationToken.None);

        Assert.Equal(0, length);
        Assert.Equal(1, bus.Slave.Broadcasts);
        await using var client = await bus.Server.ConnectClientAsync();
        Assert.Equal([77], await client.ReadHoldingRegistersAsync(1, 3, 1));
        Assert.Equal([77], await client.ReadHoldingRegistersAsync(2, 3, 1));
    }

    [Fact]
    public async Task A_modbus_tcp_request_to_a_broadcast_device_reaches_every_unit_and_gets_no_answer()
    {
        await using var bus = await RtuBench.StartAsync(new()
        {
            ["upstreams:bus:rtu:turnaroundDelay"] = "00:00:00.050",
            ["devices:2:unit"] = "9",
            ["devices:2:upstream"] = "bus",
            ["devices:2:upstreamUnit"] = "0",
        });
        using var socket = await bus.Server.ConnectRawAsync();

        // MBAP: transaction 5, protocol 0, length 6, unit 9 (the broadcast device); FC06 register 3 = 55.
        await socket.SendAsync(Convert.FromHexString("0005000000060906000300" + "37"));
        var deadline = Stopwatch.StartNew();
        while (bus.Slave.Broadcasts == 0 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        await Task.Delay(300);
        Assert.Equal(1, bus.Slave.Broadcasts);
        Assert.Equal(0, socket.Available);
        await using var client = await bus.Server.ConnectClientAsync();
        Assert.Equal([55], await client.ReadHoldingRegistersAsync(1, 3, 1));
        Assert.Equal([55], await client.ReadHoldingRegistersAsync(2, 3, 1));
    }

    [Fact]
    public async Task Closing_the_bus_answers_the_request_on_the_line_and_those_waiting()
    {
        await using var bus = await RtuBench.StartAsync();
        bus.Slave.SetDead(2, true);
        var request = new byte[5];
        ModbusRequestPdu.Read(request, ModbusFunctionCode.ReadHoldingRegisters, 0, 1);
        var responses = new[] { new byte[ModbusLimits.MaxPduLength], new byte[ModbusLimits.MaxPduLength] };
        var origins = new[] { new ModbusAnswerOrigin(), new ModbusAnswerOrigin() };
        var onTheLine = bus.Upstream.ExecuteAsync(2, request, responses[0], new ModbusCaller("a", origins[0]), CancellationToken.None).AsTask();
        var waiting = bus.Upstream.ExecuteAsync(1, request, responses[1], new ModbusCaller("b", origins[1]), CancellationToken.None).AsTask();
        var deadline = Stopwatch.StartNew();
        while (bus.Slave.Requests(2) == 0 && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(5);
        }

        await bus.Upstream.DisposeAsync();

        var lengths = await Task.WhenAll(onTheLine, waiting);
        Assert.Equal([2, 2], lengths);
        // mcpd is stopping: 0x0B, as for every upstream (docs/gateway.md).
        Assert.All(responses, r => Assert.Equal("830B", Convert.ToHexString(r, 0, 2)));
        Assert.All(origins, o => Assert.True(o.ByGateway));
    }

    [Fact]
    public async Task A_bus_behind_an_rtu_over_tcp_converter_works_the_same()
    {
        await using var slave = RtuSlaveSimulator.ListenTcp(RtuSlaveSimulator.Device(1), RtuSlaveSimulator.Device(2));
        await using var server = await McpdTestServer.StartAsync(RtuBench.Settings(new()
        {
            ["upstreams:bus:address"] = $"127.0.0.1:{slave.TcpPort}",
        }));
        await using var client = await server.ConnectClientAsync();

        await client.WriteSingleRegisterAsync(2, 1, 555);

        Assert.Equal([555], await client.ReadHoldingRegistersAsync(2, 1, 1));
        slave.CorruptResponses(2, 2);
        var garbled = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(2, 0, 1));
        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, garbled.Code);
        Assert.Equal([0, 0], await client.ReadHoldingRegistersAsync(1, 0, 2));
        // Reachable, with a failure in the last minute.
        Assert.Equal(UpstreamState.Degraded, server.Services.GetRequiredService<UpstreamRegistry>()["bus"].State);
    }

    [Fact]
    public async Task A_port_that_cannot_be_opened_is_down_answers_0x0A_and_is_reopened_when_it_appears()
    {
        var links = SocatPtyPair.NewLinkPaths();
        await using var server = await McpdTestServer.StartAsync(RtuBench.Settings(new()
        {
            ["upstreams:bus:rtu:port"] = links.MasterEnd,
            ["upstreams:bus:rtu:reopenDelay"] = "00:00:00.100",
            ["upstreams:bus:rtu:maxReopenDelay"] = "00:00:00.200",
        }));
        var upstream = server.Services.GetRequiredService<UpstreamRegistry>()["bus"];
        await using var client = await server.ConnectClientAsync();

        Assert.Equal(UpstreamState.Down, upstream.State);
        var error = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(ModbusExceptionCode.GatewayPathUnavailable, error.Code);

        await using var pair = await SocatPtyPair.StartAsync(links);
        await using var slave = RtuSlaveSimulator.OnSerialPort(pair.SlaveEnd, RtuSlaveSimulator.Device(1));
        await server.Logs.WaitForAsync("is Up");
        Assert.Equal([0], await client.ReadHoldingRegistersAsync(1, 0, 1));
    }
}

/// <summary>The RTU bus of the gateway tests: settings, and a bench with simulated slaves (units 1 and 2).</summary>
internal static class RtuBench
{
    /// <summary>Upstream "bus" (kind rtu, 1 s timeout, no probe) serving units 1 and 2, with <paramref name="extra"/> over it.</summary>
    public static Dictionary<string, string?> Settings(Dictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["upstreams:bus:kind"] = "rtu",
            ["upstreams:bus:requestTimeout"] = "00:00:01",
            ["upstreams:bus:probe:interval"] = "00:00:00",
            ["devices:0:unit"] = "1",
            ["devices:0:upstream"] = "bus",
            ["devices:1:unit"] = "2",
            ["devices:1:upstream"] = "bus",
        };
        foreach (var (key, value) in extra ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Simulated slaves (units 1 and 2) in this process on the bus.</summary>
    public static Task<RtuBench<RtuSlaveSimulator>> StartAsync(Dictionary<string, string?>? extra = null) =>
        RtuBench<RtuSlaveSimulator>.StartAsync(
            port => Task.FromResult(RtuSlaveSimulator.OnSerialPort(port, RtuSlaveSimulator.Device(1), RtuSlaveSimulator.Device(2))),
            extra);

    /// <summary>
    /// A slave process (<see cref="PythonRtuSlave"/>) as unit 1 on the bus; unit 2 is configured in mcpd and absent on
    /// the line. The slave ignores its first <paramref name="ignoreFirst"/> requests and answers after <paramref name="slaveDelay"/>.
    /// </summary>
    public static Task<RtuBench<PythonRtuSlave>> StartWithSlaveProcessAsync(Dictionary<string, string?>? extra = null, int ignoreFirst = 0, TimeSpan slaveDelay = default) =>
        RtuBench<PythonRtuSlave>.StartAsync(port => PythonRtuSlave.StartAsync(port, 1, ignoreFirst, slaveDelay), extra);
}

/// <summary>A socat pty pair, the slaves on one end (<typeparamref name="TSlave"/>), and mcpd (<see cref="RtuBench.Settings"/>) on the other.</summary>
internal sealed class RtuBench<TSlave> : IAsyncDisposable
    where TSlave : IAsyncDisposable
{
    private readonly SocatPtyPair _pair;

    private RtuBench(SocatPtyPair pair, TSlave slave, McpdTestServer server)
    {
        _pair = pair;
        Slave = slave;
        Server = server;
    }

    public TSlave Slave { get; }

    public McpdTestServer Server { get; }

    public ModbusRtuUpstream Upstream => (ModbusRtuUpstream)Server.Services.GetRequiredService<UpstreamRegistry>()["bus"];

    /// <summary>Starts socat, the slaves on its slave end (<paramref name="startSlave"/>), then mcpd with <paramref name="extra"/>.</summary>
    public static async Task<RtuBench<TSlave>> StartAsync(Func<string, Task<TSlave>> startSlave, Dictionary<string, string?>? extra = null)
    {
        var pair = await SocatPtyPair.StartAsync();
        TSlave? slave = default;
        try
        {
            slave = await startSlave(pair.SlaveEnd);
            var settings = RtuBench.Settings(extra);
            settings["upstreams:bus:rtu:port"] = pair.MasterEnd;
            return new RtuBench<TSlave>(pair, slave, await McpdTestServer.StartAsync(settings));
        }
        catch
        {
            if (slave is not null)
            {
                await slave.DisposeAsync();
            }

            await pair.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The slaves and socat are ended whatever happens before: a test must not leave processes behind.
        try
        {
            await Server.DisposeAsync();
        }
        finally
        {
            try
            {
                await Slave.DisposeAsync();
            }
            finally
            {
                await _pair.DisposeAsync();
            }
        }
    }
}

/// <summary>mcpd with an RTU bus behind an RTU-over-TCP converter that the test plays byte by byte.</summary>
internal sealed class FakeConverter : IAsyncDisposable
{
    private readonly TcpListener _listener;

    private FakeConverter(TcpListener listener, McpdTestServer server, Socket line)
    {
        _listener = listener;
        Server = server;
        Line = line;
    }

    public McpdTestServer Server { get; }

    /// <summary>The converter's end of mcpd's connection.</summary>
    public Socket Line { get; }

    public static async Task<FakeConverter> StartAsync(Dictionary<string, string?>? extra = null)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var settings = RtuBench.Settings(extra);
        settings["upstreams:bus:address"] = $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        var server = await McpdTestServer.StartAsync(settings);
        var line = await listener.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return new FakeConverter(listener, server, line);
    }

    /// <summary>Waits for one FC03 request frame (8 bytes) from mcpd.</summary>
    public async Task ReceiveRequestAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var frame = new byte[8];
        for (var filled = 0; filled < frame.Length;)
        {
            var read = await Line.ReceiveAsync(frame.AsMemory(filled), deadline.Token);
            Assert.True(read > 0, "mcpd closed the line");
            filled += read;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Server.DisposeAsync();
        }
        finally
        {
            Line.Dispose();
            _listener.Stop();
        }
    }
}
