using Mcpd.Server.Configuration;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Tests.Admin;

/// <summary>The configuration check of <c>admin</c>.</summary>
public class AdminConfigurationTests
{
    [Fact]
    public void Host_names_and_origins_are_checked()
    {
        var problems = Check(new()
        {
            ["admin:allowedHosts:0"] = "mcpd.plant.example:8081",
            ["admin:allowedHosts:1"] = "[::1]",
            ["admin:allowedHosts:2"] = "*",
            ["admin:allowedHosts:3"] = "http://mcpd.example/",
            ["admin:cors:origins:0"] = "https://dash.example:8443",
            ["admin:cors:origins:1"] = "https://dash.example/app",
        });

        Assert.Equal(
        [
            "admin:allowedHosts:3: 'http://mcpd.example/' is not a host name or an IP address (a port is allowed and ignored; \"*\" allows any)",
            "admin:cors:origins:1: 'https://dash.example/app' is not an origin such as https://dashboard.example.com (scheme, host and port only, as a browser sends it)",
        ], problems);
    }

    private static IReadOnlyList<string> Check(Dictionary<string, string?> settings) =>
        McpdOptionsValidator.CheckConfiguration(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
}
