using Mcpd.Server.Configuration;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Tests.Configuration;

/// <summary>The keys of a Modbus TCP upstream (<c>upstreams:NAME:tcp</c>), each reported with its path.</summary>
public class TcpUpstreamConfigurationTests
{
    [Fact]
    public void A_complete_tcp_upstream_is_valid()
    {
        var problems = Check(new()
        {
            ["upstreams:plc:tcp:maxConnections"] = "2",
            ["upstreams:plc:tcp:minIdle"] = "1",
            ["upstreams:plc:tcp:maxInFlightPerConnection"] = "1",
            ["upstreams:plc:tcp:acquireTimeout"] = "00:00:02",
            ["upstreams:plc:tcp:queueLimit"] = "0",
            ["upstreams:plc:tcp:idleTimeout"] = "00:00:00",
            ["upstreams:plc:tcp:maxLifetime"] = "01:00:00",
            ["upstreams:plc:tcp:readRetries"] = "0",
            ["upstreams:plc:tcp:retryDelay"] = "00:00:00.050",
            ["upstreams:plc:tcp:breaker:failureRatio"] = "1",
            ["upstreams:plc:tcp:breaker:minimumThroughput"] = "2",
            ["upstreams:plc:tcp:breaker:samplingDuration"] = "00:00:00.5",
            ["upstreams:plc:tcp:breaker:breakDuration"] = "00:01:00",
            ["upstreams:plc:tcp:reconnect:baseDelay"] = "00:00:01",
            ["upstreams:plc:tcp:reconnect:maxDelay"] = "00:00:01",
        });

        Assert.Empty(problems);
    }

    [Theory]
    [InlineData("tcp:maxConnections", "0", "upstreams:plc:tcp:maxConnections: 0 is outside 1..64")]
    [InlineData("tcp:minIdle", "5", "upstreams:plc:tcp:minIdle: 5 is outside 0..maxConnections (4)")]
    [InlineData("tcp:minIdle", "-1", "upstreams:plc:tcp:minIdle: -1 is outside 0..maxConnections (4)")]
    [InlineData("tcp:maxInFlightPerConnection", "0", "upstreams:plc:tcp:maxInFlightPerConnection: 0 is outside 1..256")]
    [InlineData("tcp:acquireTimeout", "00:00:00", "upstreams:plc:tcp:acquireTimeout: 00:00:00 must be positive")]
    [InlineData("tcp:queueLimit", "-1", "upstreams:plc:tcp:queueLimit: -1 is outside 0..100000")]
    [InlineData("tcp:idleTimeout", "-00:00:01", "upstreams:plc:tcp:idleTimeout: -00:00:01 must not be negative")]
    [InlineData("tcp:maxLifetime", "-00:00:01", "upstreams:plc:tcp:maxLifetime: -00:00:01 must not be negative")]
    [InlineData("tcp:readRetries", "11", "upstreams:plc:tcp:readRetries: 11 is outside 0..10")]
    [InlineData("tcp:retryDelay", "-00:00:01", "upstreams:plc:tcp:retryDelay: -00:00:01 must not be negative")]
    [InlineData("tcp:breaker:failureRatio", "0", "upstreams:plc:tcp:breaker:failureRatio: 0 is outside (0, 1]")]
    [InlineData("tcp:breaker:failureRatio", "1.5", "upstreams:plc:tcp:breaker:failureRatio: 1.5 is outside (0, 1]")]
    [InlineData("tcp:breaker:minimumThroughput", "1", "upstreams:plc:tcp:breaker:minimumThroughput: 1 is outside 2..100000")]
    [InlineData("tcp:breaker:samplingDuration", "00:00:00.1", "upstreams:plc:tcp:breaker:samplingDuration: 00:00:00.1000000 is outside 00:00:00.5..1.00:00:00")]
    [InlineData("tcp:breaker:breakDuration", "2.00:00:00", "upstreams:plc:tcp:breaker:breakDuration: 2.00:00:00 is outside 00:00:00.5..1.00:00:00")]
    [InlineData("tcp:reconnect:baseDelay", "00:00:00", "upstreams:plc:tcp:reconnect:baseDelay: 00:00:00 must be positive")]
    [InlineData("tcp:reconnect:maxDelay", "00:00:00.05", "upstreams:plc:tcp:reconnect:maxDelay: 00:00:00.0500000 is less than baseDelay (00:00:00.1000000)")]
    [InlineData("tcp:maxConection", "2", "upstreams:plc:tcp:maxConection: unknown setting")]
    [InlineData("tcp:breaker:failureRatio", "half", "upstreams:plc:tcp:breaker:failureRatio: 'half' is not")]
    [InlineData("requestTimeout", "00:00:00", "upstreams:plc:requestTimeout: 00:00:00 must be positive")]
    [InlineData("address", "plc:port", "upstreams:plc:address: 'plc:port' is not host:port")]
    [InlineData("probe:count", "126", "upstreams:plc:probe:count: 126 is outside 1..125")]
    [InlineData("probe:interval", "-00:00:01", "upstreams:plc:probe:interval: -00:00:01 must not be negative")]
    public void Each_invalid_value_names_its_key(string key, string value, string expected)
    {
        var problems = Check(new() { [$"upstreams:plc:{key}"] = value });

        Assert.Contains(problems, p => p.StartsWith(expected, StringComparison.Ordinal));
        Assert.Single(problems);
    }

    [Fact]
    public void A_tcp_upstream_needs_an_address()
    {
        var problems = McpdOptionsValidator.CheckConfiguration(Memory(new() { ["upstreams:plc:kind"] = "tcp", ["upstreams:plc:requestTimeout"] = "00:00:01" }));

        Assert.Equal(["upstreams:plc:address: a tcp upstream needs host:port"], problems);
    }

    [Fact]
    public void Devices_name_their_upstream_and_its_unit()
    {
        var problems = Check(new()
        {
            ["devices:0:unit"] = "1",
            ["devices:0:upstream"] = "plc",
            ["devices:0:upstreamUnit"] = "248",
            ["devices:1:unit"] = "2",
            ["devices:1:upstream"] = "nowhere",
        });

        Assert.Equal(2, problems.Count);
        Assert.Contains("devices:0:upstreamUnit: 248 is outside 0..247", problems);
        Assert.Contains("devices:1:upstream: no upstream 'nowhere' in upstreams", problems);
    }

    private static List<string> Check(Dictionary<string, string?> values)
    {
        values.TryAdd("upstreams:plc:address", "127.0.0.1:1502");
        return [.. McpdOptionsValidator.CheckConfiguration(Memory(values))];
    }

    private static IConfigurationRoot Memory(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
