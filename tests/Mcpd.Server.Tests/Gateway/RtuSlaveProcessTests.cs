using System.Diagnostics;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Gateway;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Gateway;

/// <summary>
/// The gateway against an RTU slave that is a process of its own (<see cref="PythonRtuSlave"/>, unit 1) on a socat
/// pseudo-terminal pair: what a real device on the bus sends, byte for byte, and its faults.
/// </summary>
public sealed class RtuSlaveProcessTests
{
    [Fact]
    public async Task Return_query_data_with_two_data_words_is_answered_with_the_slaves_echo()
    {
        // On the line: 01 08 00 00 12 34 56 78 73 33, and the slave echoes it byte for byte (Application Protocol
        // 6.8.1): the answer is as long as the request, not the 5 bytes of the other sub-functions.
        await using var bus = await RtuBench.StartWithSlaveProcessAsync();
        await using var client = await bus.Server.ConnectClientAsync();

        var answer = await client.SendAsync(1, Convert.FromHexString("08000012345678"));

        Assert.Equal("08000012345678", Convert.ToHexString(answer));
        Assert.Equal(["01080000123456787333"], await bus.Slave.HeardAsync(1));
        Assert.Equal(0, bus.Upstream.CrcErrors);
        Assert.Equal(UpstreamState.Up, bus.Upstream.State);
    }

    [Fact]
    public async Task Force_listen_only_mode_is_passed_on_unanswered_and_its_silence_is_no_failure()
    {
        // FC08 sub-function 04: "no response is returned" (Application Protocol 6.8.1). mcpd answers its client nothing
        // either, as a device on TCP would, rather than a 0x0B for a slave that did what it was told.
        await using var bus = await RtuBench.StartWithSlaveProcessAsync(new() { ["upstreams:bus:rtu:quarantine:failures"] = "1" });
        using var socket = await bus.Server.ConnectRawAsync();

        // MBAP: transaction 7, protocol 0, length 6, unit 1; FC08 sub-function 04, data 0000.
        await socket.SendAsync(Convert.FromHexString("000700000006010800040000"));
        Assert.Equal(["010800040000A1CA"], await bus.Slave.HeardAsync(1));
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        Assert.Equal(0, socket.Available);
        Assert.Equal(UpstreamState.Up, bus.Upstream.State);
        await using var client = await bus.Server.ConnectClientAsync();
        Assert.Equal([0], await client.ReadHoldingRegistersAsync(1, 0, 1));
    }

    [Fact]
    public async Task A_read_whose_request_the_slave_missed_is_answered_on_the_retry()
    {
        await using var bus = await RtuBench.StartWithSlaveProcessAsync(new() { ["upstreams:bus:rtu:readRetries"] = "1" }, ignoreFirst: 1);
        await using var client = await bus.Server.ConnectClientAsync();

        Assert.Equal([0, 0], await client.ReadHoldingRegistersAsync(1, 4, 2));

        // The same request twice on the line: the first one the slave did not answer, then the retry.
        Assert.Equal(["01030004000285CA", "01030004000285CA"], await bus.Slave.HeardAsync(2));
        Assert.Equal(UpstreamState.Up, bus.Upstream.State);
    }

    [Fact]
    public async Task A_write_whose_answer_did_not_come_is_never_sent_again()
    {
        // The slave may have acted on a write whose answer was lost: sending it twice could act twice.
        await using var bus = await RtuBench.StartWithSlaveProcessAsync(new() { ["upstreams:bus:rtu:readRetries"] = "3" }, ignoreFirst: 1);
        await using var client = await bus.Server.ConnectClientAsync();

        var error = await Assert.ThrowsAsync<ModbusException>(() => client.WriteSingleRegisterAsync(1, 4, 77));

        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, error.Code);
        Assert.Equal(["01060004004D083E"], await bus.Slave.HeardAsync(1, settle: TimeSpan.FromMilliseconds(300)));
        // The client may send it again, knowing what it risks; the slave answers this one.
        await client.WriteSingleRegisterAsync(1, 4, 77);
        Assert.Equal(["01060004004D083E", "01060004004D083E"], await bus.Slave.HeardAsync(2));
    }

    [Fact]
    public async Task Retries_of_a_silent_unit_fit_in_one_request_timeout()
    {
        // Unit 2 is on the bus in mcpd's configuration and absent on the line. Four attempts share the one second:
        // the client has its 0x0B after about a second, not after four (each attempt waiting the whole second).
        await using var bus = await RtuBench.StartWithSlaveProcessAsync(new()
        {
            ["upstreams:bus:rtu:readRetries"] = "3",
            ["upstreams:bus:rtu:quarantine:failures"] = "0",
        });
        await using var client = await bus.Server.ConnectClientAsync();

        var elapsed = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(2, 0, 1));
        elapsed.Stop();

        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, error.Code);
        Assert.InRange(elapsed.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(3));
        Assert.Equal(4, bus.Server.Logs.Lines.Count(l => l.EventId.Id == 648));
        Assert.Contains(bus.Server.Logs.Lines, l => l.EventId.Id == 648 && l.Message.Contains("(attempt 4 of 4)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_slow_slaves_late_answer_answers_the_retry_and_its_second_answer_is_kept_off_the_next_request()
    {
        // 700 ms per answer against attempts of 500 ms: the answer to the first attempt comes while the retry waits, and
        // is the answer (the same side-effect-free request); the answer to the retry comes after, and must not be
        // taken for the answer to the next read of the same size.
        await using var bus = await RtuBench.StartWithSlaveProcessAsync(new() { ["upstreams:bus:rtu:readRetries"] = "1" }, slaveDelay: TimeSpan.FromMilliseconds(700));
        await using var client = await bus.Server.ConnectClientAsync();
        await client.WriteSingleRegisterAsync(1, 0, 11);
        await client.WriteSingleRegisterAsync(1, 2, 33);

        Assert.Equal([11], await client.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal([33], await client.ReadHoldingRegistersAsync(1, 2, 1));

        Assert.Contains(bus.Server.Logs.Lines, l => l.EventId.Id == 648 && l.Message.Contains("(attempt 1 of 2)", StringComparison.Ordinal));
        Assert.Contains(bus.Server.Logs.Lines, l => l.EventId.Id == 646 && l.Message.Contains("flushed 7 stray bytes", StringComparison.Ordinal));
        // The first read and its retry, then the second read (whose own retry the slave may not have heard yet).
        Assert.Equal(["010300000001840A", "010300000001840A", "01030002000125CA"], (await bus.Slave.HeardAsync(5)).Where(frame => frame.StartsWith("0103", StringComparison.Ordinal)).Take(3));
    }
}
