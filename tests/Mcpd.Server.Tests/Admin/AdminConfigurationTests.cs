using Mcpd.Server.Configuration;
using Mcpd.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Tests.Admin;

/// <summary>The configuration check of <c>admin</c>: the API is open only on loopback, tokens are hashes of known roles.</summary>
public class AdminConfigurationTests
{
    private const string Refusal = "is reachable from other hosts and the API asks for no credentials, so anyone there could change registers; "
        + "configure admin:tokens (`mcpd token hash --generate` makes one) or admin:tls:clientCa, or bind 127.0.0.1";

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("*")]
    [InlineData("192.0.2.7")]
    [InlineData("::")]
    public void An_api_without_tokens_bound_beyond_loopback_is_refused_with_the_fix(string bind)
    {
        var problems = Check(new() { ["admin:bind"] = bind });

        Assert.Equal($"admin:bind: '{bind}' {Refusal}", Assert.Single(problems));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.2")]
    [InlineData("::1")]
    [InlineData("localhost")]
    public void An_api_without_tokens_on_loopback_is_accepted(string bind) =>
        Assert.Empty(Check(new() { ["admin:bind"] = bind }));

    [Fact]
    public void An_api_with_tokens_or_client_certificates_may_be_bound_anywhere_and_a_disabled_one_is_not_checked()
    {
        Assert.Empty(Check(WithToken(new() { ["admin:bind"] = "0.0.0.0" })));
        Assert.Empty(Check(new()
        {
            ["admin:bind"] = "0.0.0.0",
            ["admin:tls:certificate"] = "server.pem",
            ["admin:tls:key"] = "server.key",
            ["admin:tls:clientCa"] = "ca.pem",
        }));
        Assert.Empty(Check(new() { ["admin:bind"] = "0.0.0.0", ["admin:enabled"] = "false" }));
    }

    [Fact]
    public async Task The_server_does_not_start_on_an_open_address_without_tokens()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => McpdTestServer.StartAsync(new Dictionary<string, string?> { ["admin:bind"] = "0.0.0.0" }));

        Assert.Contains($"admin:bind: '0.0.0.0' {Refusal}", failure.Failures);
    }

    [Fact]
    public void Tokens_are_hashes_with_a_name_and_a_known_role_and_the_value_is_never_repeated()
    {
        var problems = Check(new()
        {
            ["security:roles:Viewer:0:access"] = "Read",
            ["admin:tokens:0:name"] = "display",
            ["admin:tokens:0:sha256"] = "my-secret-token",
            ["admin:tokens:0:role"] = "Viewer",
            ["admin:tokens:1:name"] = "Display",
            ["admin:tokens:1:sha256"] = new string('a', 64),
            ["admin:tokens:1:role"] = "Admin",
            ["admin:tokens:2:sha256"] = new string('A', 64),
            ["admin:tokens:2:role"] = "viewer",
        });

        Assert.Equal(
        [
            "admin:tokens:0:sha256: not 64 hex digits; write the SHA-256 of the token (`mcpd token hash`), never the token",
            "admin:tokens:1:name: 'Display' is also the name of admin:tokens:0",
            "admin:tokens:1:role: 'Admin' is not a role of security:roles (the roles are Viewer)",
            "admin:tokens:2:name: missing; name who holds the token (logs name callers by it)",
            "admin:tokens:2:sha256: the same token as admin:tokens:1",
        ], problems);
        Assert.DoesNotContain(problems, p => p.Contains("my-secret-token", StringComparison.Ordinal));
    }

    [Fact]
    public void Host_names_origins_and_the_failure_limit_are_checked()
    {
        var problems = Check(new()
        {
            ["admin:allowedHosts:0"] = "mcpd.plant.example:8081",
            ["admin:allowedHosts:1"] = "[::1]",
            ["admin:allowedHosts:2"] = "*",
            ["admin:allowedHosts:3"] = "http://mcpd.example/",
            ["admin:cors:origins:0"] = "https://dash.example:8443",
            ["admin:cors:origins:1"] = "https://dash.example/app",
            ["admin:maxAuthFailuresPerAddress"] = "0",
            ["admin:authFailureWindow"] = "0s",
        });

        Assert.Equal(
        [
            "admin:allowedHosts:3: 'http://mcpd.example/' is not a host name or an IP address (a port is allowed and ignored; \"*\" allows any)",
            "admin:cors:origins:1: 'https://dash.example/app' is not an origin such as https://dashboard.example.com (scheme, host and port only, as a browser sends it)",
            "admin:maxAuthFailuresPerAddress: 0 must be at least 1",
            "admin:authFailureWindow: 00:00:00 must be positive",
        ], problems);
    }

    private static Dictionary<string, string?> WithToken(Dictionary<string, string?> settings) => new(settings)
    {
        ["security:roles:Viewer:0:access"] = "Read",
        ["admin:tokens:0:name"] = "display",
        ["admin:tokens:0:sha256"] = AdminSecurityTests.Sha256("token"),
        ["admin:tokens:0:role"] = "Viewer",
    };

    private static IReadOnlyList<string> Check(Dictionary<string, string?> settings) =>
        McpdOptionsValidator.CheckConfiguration(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
}
