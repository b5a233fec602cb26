using Mcpd.Server.Configuration;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Tests.Configuration;

/// <summary>Durations in the configuration mean what they look like (docs/configuration.md, "Durations").</summary>
public class DurationTests
{
    [Theory]
    [InlineData("500ms", 0, 0, 0, 0, 500)]
    [InlineData("30s", 0, 0, 0, 30, 0)]
    [InlineData("1.5s", 0, 0, 0, 1, 500)]
    [InlineData("5m", 0, 0, 5, 0, 0)]
    [InlineData("24h", 1, 0, 0, 0, 0)]
    [InlineData("7d", 7, 0, 0, 0, 0)]
    [InlineData("00:05:00", 0, 0, 5, 0, 0)]
    [InlineData("23:59:59", 0, 23, 59, 59, 0)]
    [InlineData("00:00:00.100", 0, 0, 0, 0, 100)]
    [InlineData("1.00:00:00", 1, 0, 0, 0, 0)]
    [InlineData("-00:00:01", 0, 0, 0, -1, 0)]
    public void A_duration_is_read_as_written(string text, int days, int hours, int minutes, int seconds, int milliseconds)
    {
        Assert.Equal(new TimeSpan(days, hours, minutes, seconds, milliseconds), DurationConverter.Parse(text));
    }

    [Theory]
    [InlineData("24:00:00", "'24:00:00' has 24 hours: write 24h (or d.hh:mm:ss, as 1.00:00:00 for a day)")]
    [InlineData("30", "'30' is not a duration such as 500ms, 30s, 5m, 24h, 7d or 00:05:00")]
    [InlineData("5:00", "'5:00' is not a duration")]
    [InlineData("soon", "'soon' is not a duration")]
    [InlineData("10 sec", "'10 sec' is not a duration")]
    [InlineData("--5s", "'--5s' is not a duration")]
    public void A_duration_that_could_be_misread_is_refused_with_how_to_write_it(string text, string expected)
    {
        var error = Assert.Throws<FormatException>(() => DurationConverter.Parse(text));

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_checker_and_the_binder_read_durations_alike()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["sessions:maxTtl"] = "24h",
            ["sessions:defaultTtl"] = "90m",
            ["mcp:heartbeatInterval"] = "24:00:00",
        }).Build();

        var problems = McpdOptionsValidator.CheckConfiguration(configuration);
        configuration["mcp:heartbeatInterval"] = "45s";
        var options = new McpdOptions();
        configuration.Bind(options);

        Assert.Equal(["mcp:heartbeatInterval: '24:00:00' has 24 hours: write 24h (or d.hh:mm:ss, as 1.00:00:00 for a day)"], problems);
        Assert.Equal(TimeSpan.FromHours(24), options.Sessions.MaxTtl);
        Assert.Equal(TimeSpan.FromMinutes(90), options.Sessions.DefaultTtl);
        Assert.Equal(TimeSpan.FromSeconds(45), options.Mcp.HeartbeatInterval);
    }

    [Theory]
    [InlineData("effectiveDevices")]
    [InlineData("maxInputBuffer")]
    public void A_computed_property_is_not_a_setting(string key)
    {
        var problems = McpdOptionsValidator.CheckConfiguration(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = "1" }).Build());

        var problem = Assert.Single(problems);
        Assert.StartsWith($"{key}: unknown setting (known here: ", problem, StringComparison.Ordinal);
        var known = problem[problem.IndexOf("known here:", StringComparison.Ordinal)..];
        Assert.DoesNotContain("effectiveDevices", known, StringComparison.Ordinal);
        Assert.DoesNotContain("maxInputBuffer", known, StringComparison.Ordinal);
    }
}
