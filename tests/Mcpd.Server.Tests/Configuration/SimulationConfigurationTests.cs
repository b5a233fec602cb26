using Mcpd.Server.Configuration;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Tests.Configuration;

/// <summary>Config errors of generators and read-only ranges, each with its key path.</summary>
public class SimulationConfigurationTests
{
    private const string Register = "devices:0:registers:0";

    [Theory]
    [InlineData($"{Register}:generator:kind=wave", $"{Register}:generator:kind: 'wave' is not one of constant, counter, sine, sawtooth, randomWalk, toggle")]
    [InlineData($"{Register}:generator:min=1", $"{Register}:generator:kind: missing")]
    [InlineData($"{Register}:generator:kind=sine;{Register}:generator:min=10;{Register}:generator:max=5", $"{Register}:generator:min: 10 is greater than max 5")]
    [InlineData($"{Register}:generator:kind=sawtooth;{Register}:generator:period=00:00:00", $"{Register}:generator:period: 00:00:00 must be positive")]
    [InlineData($"{Register}:generator:kind=sine;{Register}:generator:period=-00:00:01", $"{Register}:generator:period: -00:00:01 must be positive")]
    [InlineData($"{Register}:generator:kind=counter;{Register}:generator:step=0", $"{Register}:generator:step: 0 must be a positive number")]
    [InlineData($"{Register}:generator:kind=sine;{Register}:generator:max=70000", $"{Register}:generator:max: 70000 does not fit the register's UInt16")]
    [InlineData($"{Register}:generator:kind=sine;{Register}:generator:min=-1", $"{Register}:generator:min: -1 does not fit the register's UInt16")]
    [InlineData($"{Register}:generator:kind=counter;{Register}:value=500", $"{Register}:value: 500 is outside the generator's min..max (0..100), where the Counter starts")]
    [InlineData($"{Register}:type=string;{Register}:length=2;{Register}:generator:kind=constant", $"{Register}:generator: a string register cannot be generated")]
    [InlineData($"{Register}:table=coils;{Register}:generator:kind=sine", $"{Register}:generator:kind: Sine needs a number; a Coils bit takes Constant or Toggle")]
    [InlineData($"{Register}:table=input;{Register}:readOnly=true", $"{Register}:readOnly: Input is never writable over Modbus")]
    [InlineData("devices:0:readOnly:0:address=9998;devices:0:readOnly:0:count=5", "devices:0:readOnly:0:address: 9998 (+5) is outside the Holding table of 10000 addresses")]
    [InlineData("devices:0:readOnly:0:address=-1", "devices:0:readOnly:0:address: -1 (+1) is outside the Holding table")]
    [InlineData("devices:0:readOnly:0:count=0", "devices:0:readOnly:0:count: 0 must be at least 1")]
    [InlineData("devices:0:readOnly:0:table=discrete", "devices:0:readOnly:0:table: Discrete is never writable over Modbus")]
    [InlineData("devices:0:readOnly=true", "devices:0:readOnly: expected a list of entries, got the value 'true'")]
    [InlineData("devices:0:readOnlyException=GatewayPathUnavailable", "devices:0:readOnlyException: GatewayPathUnavailable is not one of")]
    [InlineData("devices:0:updateInterval=00:00:00", "devices:0:updateInterval: 00:00:00 must be at least 00:00:00.001")]
    public void Problem_names_its_key(string settings, string expected)
    {
        var values = settings.Split(';').Select(pair => pair.Split('=')).ToDictionary(pair => pair[0], pair => (string?)pair[1]);

        var problems = McpdOptionsValidator.CheckConfiguration(new ConfigurationBuilder().AddInMemoryCollection(values).Build());

        Assert.True(problems.Count == 1 && problems[0].StartsWith(expected, StringComparison.Ordinal), $"expected '{expected}', got: {string.Join(" | ", problems)}");
    }

    [Fact]
    public void A_moving_temperature_with_read_only_neighbours_is_valid()
    {
        var problems = McpdOptionsValidator.CheckConfiguration(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{Register}:type"] = "int16",
            [$"{Register}:scale"] = "0.1",
            [$"{Register}:value"] = "20",
            [$"{Register}:readOnly"] = "true",
            [$"{Register}:generator:kind"] = "randomWalk",
            [$"{Register}:generator:min"] = "-20",
            [$"{Register}:generator:max"] = "40",
            [$"{Register}:generator:step"] = "0.2",
            [$"{Register}:generator:period"] = "00:00:05",
            [$"{Register}:generator:seed"] = "7",
            ["devices:0:registers:1:table"] = "coils",
            ["devices:0:registers:1:generator:kind"] = "toggle",
            ["devices:0:readOnly:0:table"] = "coils",
            ["devices:0:readOnly:0:address"] = "100",
            ["devices:0:readOnly:0:count"] = "50",
            ["devices:0:readOnlyException"] = "IllegalFunction",
            ["devices:0:updateInterval"] = "00:00:00.250",
        }).Build());

        Assert.Empty(problems);
    }
}
