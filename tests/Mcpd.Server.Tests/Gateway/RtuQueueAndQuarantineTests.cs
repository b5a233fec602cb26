using Mcpd.Testing;
using Mcpd.Server.Configuration;
using Mcpd.Server.Devices;
using Mcpd.Server.Gateway;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Gateway;

/// <summary>The RTU bus's fair queue and unit quarantine on their own (no line, fake time), and its settings.</summary>
public sealed class RtuQueueAndQuarantineTests
{
    [Fact]
    public void Queue_serves_clients_in_round_robin_whatever_they_queued()
    {
        using var queue = new RtuRequestQueue(100);
        foreach (var (client, count) in new[] { ("a", 5), ("b", 2), ("c", 1) })
        {
            for (var i = 0; i < count; i++)
            {
                Assert.True(queue.TryEnqueue(Request(client, (byte)i)));
            }
        }

        var order = new List<string>();
        while (queue.TryDequeue(out var request))
        {
            order.Add($"{request.ClientId}{request.Unit}");
        }

        Assert.Equal(["a0", "b0", "c0", "a1", "b1", "a2", "a3", "a4"], order);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Queue_refuses_beyond_its_limit_and_abandoned_requests_free_their_place()
    {
        using var queue = new RtuRequestQueue(2);
        var first = Request("a", 1);
        Assert.True(queue.TryEnqueue(first));
        Assert.True(queue.TryEnqueue(Request("b", 2)));
        Assert.False(queue.TryEnqueue(Request("c", 3)));

        Assert.True(queue.TryAbandon(first));
        Assert.False(queue.TryAbandon(first));
        Assert.True(queue.TryEnqueue(Request("c", 3)));

        Assert.True(queue.TryDequeue(out var next));
        Assert.Equal(2, next.Unit);
        Assert.True(queue.TryDequeue(out next));
        Assert.Equal(3, next.Unit);
        Assert.False(queue.TryDequeue(out _));
    }

    [Fact]
    public void Unit_is_quarantined_after_the_configured_timeouts_and_backoff_doubles_up_to_the_maximum()
    {
        var time = new FakeTimeProvider();
        var quarantine = new RtuUnitQuarantine(new RtuQuarantineOptions { Failures = 3, BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(3) }, time);

        Assert.Null(quarantine.RecordTimeout(5));
        Assert.Null(quarantine.RecordTimeout(5));
        Assert.Equal(TimeSpan.FromSeconds(1), quarantine.RecordTimeout(5));
        Assert.True(quarantine.IsQuarantined(5));
        Assert.False(quarantine.IsQuarantined(6));
        Assert.Equal(1, quarantine.QuarantinedCount);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(quarantine.IsQuarantined(5)); // the trial request may go
        Assert.Equal(TimeSpan.FromSeconds(2), quarantine.RecordTimeout(5));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromSeconds(3), quarantine.RecordTimeout(5));
        Assert.True(quarantine.IsQuarantined(5));

        time.Advance(TimeSpan.FromSeconds(3));
        Assert.True(quarantine.RecordAnswer(5));
        Assert.False(quarantine.RecordAnswer(5));
        Assert.Equal(0, quarantine.QuarantinedCount);
        Assert.Null(quarantine.RecordTimeout(5)); // counting starts again from zero
    }

    [Fact]
    public void An_answer_resets_the_count_of_timeouts_and_zero_failures_turns_quarantine_off()
    {
        var time = new FakeTimeProvider();
        var quarantine = new RtuUnitQuarantine(new RtuQuarantineOptions { Failures = 2 }, time);
        Assert.Null(quarantine.RecordTimeout(1));
        quarantine.RecordAnswer(1);
        Assert.Null(quarantine.RecordTimeout(1));

        var off = new RtuUnitQuarantine(new RtuQuarantineOptions { Failures = 0 }, time);
        for (var i = 0; i < 10; i++)
        {
            Assert.Null(off.RecordTimeout(1));
        }

        Assert.False(off.IsQuarantined(1));
    }

    [Theory]
    [InlineData("upstreams:bus:rtu:baudRate", "100", "upstreams:bus:rtu:baudRate: 100 is outside 300..4000000")]
    [InlineData("upstreams:bus:rtu:dataBits", "7", "upstreams:bus:rtu:dataBits: 7 is not 8")]
    [InlineData("upstreams:bus:rtu:stopBits", "3", "upstreams:bus:rtu:stopBits: 3 is not 1 or 2")]
    [InlineData("upstreams:bus:rtu:queueLimit", "0", "upstreams:bus:rtu:queueLimit: 0 is outside 1..100000")]
    [InlineData("upstreams:bus:rtu:readRetries", "11", "upstreams:bus:rtu:readRetries: 11 is outside 0..10 (0 turns retries off)")]
    [InlineData("upstreams:bus:rtu:turnaroundDelay", "00:01:00", "upstreams:bus:rtu:turnaroundDelay: 00:01:00 is outside")]
    [InlineData("upstreams:bus:rtu:reopenDelay", "00:00:00", "upstreams:bus:rtu:reopenDelay: 00:00:00 must be positive")]
    [InlineData("upstreams:bus:rtu:maxReopenDelay", "00:00:00.100", "upstreams:bus:rtu:maxReopenDelay: 00:00:00.1000000 is shorter than reopenDelay")]
    [InlineData("upstreams:bus:rtu:quarantine:failures", "-1", "upstreams:bus:rtu:quarantine:failures: -1 is outside 0..1000")]
    [InlineData("upstreams:bus:rtu:quarantine:maxDelay", "00:00:00.500", "upstreams:bus:rtu:quarantine:maxDelay: 00:00:00.5000000 is shorter than baseDelay")]
    [InlineData("upstreams:bus:address", "10.0.0.9:502", "upstreams:bus:rtu:port: '/dev/ttyUSB0' and the upstream's address are both set")]
    [InlineData("upstreams:bus:rtu:parity", "Mark", "upstreams:bus:rtu:parity: 'Mark'")]
    public void Every_rtu_setting_is_checked_with_its_key_path(string key, string value, string expected)
    {
        var problems = McpdOptionsValidator.CheckConfiguration(Configuration(new() { ["upstreams:bus:rtu:port"] = "/dev/ttyUSB0", [key] = value }));

        Assert.Contains(problems, p => p.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_serial_bus_needs_a_port_unless_it_names_a_converter()
    {
        var problems = McpdOptionsValidator.CheckConfiguration(Configuration([]));
        Assert.Contains(problems, p => p.StartsWith("upstreams:bus:rtu:port: an RTU bus needs a serial port", StringComparison.Ordinal));

        Assert.Empty(McpdOptionsValidator.CheckConfiguration(Configuration(new() { ["upstreams:bus:address"] = "127.0.0.1:4001" })));
        Assert.Empty(McpdOptionsValidator.CheckConfiguration(Configuration(new() { ["upstreams:bus:rtu:port"] = "/dev/ttyUSB0", ["upstreams:bus:rtu:parity"] = "none", ["upstreams:bus:rtu:stopBits"] = "2" })));
    }

    private static RtuRequest Request(string client, byte unit) => new(unit, new byte[] { 3, 0, 0, 0, 1 }, new byte[253], new ModbusCaller(client));

    private static IConfiguration Configuration(Dictionary<string, string?> settings)
    {
        settings["upstreams:bus:kind"] = "rtu";
        settings["devices:0:unit"] = "1";
        settings["devices:0:upstream"] = "bus";
        return new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
    }

    [Fact]
    public async Task A_serial_device_that_does_not_exist_is_logged_as_no_such_device_and_answers_0A()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["upstreams:bus:kind"] = "rtu",
            ["upstreams:bus:rtu:port"] = "/dev/ttyMCPD-NOPE",
            ["devices:0:unit"] = "1",
            ["devices:0:upstream"] = "bus",
        });

        await server.Logs.WaitForAsync("cannot open /dev/ttyMCPD-NOPE at 19200 baud (no such device: /dev/ttyMCPD-NOPE does not exist");
        await using var client = await server.ConnectClientAsync();
        var refused = await Assert.ThrowsAsync<Mcpd.Client.Modbus.ModbusException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));

        Assert.Equal(Mcpd.Protocols.Modbus.ModbusExceptionCode.GatewayPathUnavailable, refused.Code);
        Assert.DoesNotContain(server.Logs.Lines, line => line.Message.Contains("Access to the port", StringComparison.Ordinal));
    }
}
