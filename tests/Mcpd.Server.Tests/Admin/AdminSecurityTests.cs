using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Mcpd.Server.Connections;
using Mcpd.Server.Tests.Telemetry;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Admin;

/// <summary>The admin API on a hostile network (docs/security.md): tokens, client certificates and roles, Host names, CORS, failed authentications.</summary>
public class AdminSecurityTests
{
    private const string ViewerToken = "viewer-token-3f9a";
    private const string OperatorToken = "operator-token-c71e";
    private const string AuditorToken = "auditor-token-5b20";

    /// <summary>Viewer reads; Operator reads, and writes holding 0..9 of unit 1 only; Auditor reads unit 2 only.</summary>
    private static Dictionary<string, string?> Roles(int maxAuthFailures = 10) => new()
    {
        ["security:roles:Viewer:0:access"] = "Read",
        ["security:roles:Operator:0:access"] = "Read",
        ["security:roles:Operator:1:access"] = "Write",
        ["security:roles:Operator:1:units"] = "1",
        ["security:roles:Operator:1:tables:0"] = "Holding",
        ["security:roles:Operator:1:addresses"] = "0-9",
        ["security:roles:Auditor:0:access"] = "Read",
        ["security:roles:Auditor:0:units"] = "2",
        ["admin:tokens:0:name"] = "wall-display",
        ["admin:tokens:0:sha256"] = Sha256(ViewerToken),
        ["admin:tokens:0:role"] = "Viewer",
        ["admin:tokens:1:name"] = "ops-dashboard",
        ["admin:tokens:1:sha256"] = Sha256(OperatorToken),
        ["admin:tokens:1:role"] = "Operator",
        ["admin:tokens:2:name"] = "auditor",
        ["admin:tokens:2:sha256"] = Sha256(AuditorToken),
        ["admin:tokens:2:role"] = "Auditor",
        ["admin:maxAuthFailuresPerAddress"] = maxAuthFailures.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static TheoryData<string?, string, string, string?, HttpStatusCode> Matrix() => new()
    {
        // token, method, path, body, status
        { ViewerToken, "GET", "api/devices", null, HttpStatusCode.OK },
        { OperatorToken, "GET", "api/devices", null, HttpStatusCode.OK },
        { null, "GET", "api/devices", null, HttpStatusCode.Unauthorized },
        { "wrong", "GET", "api/devices", null, HttpStatusCode.Unauthorized },
        { ViewerToken, "GET", "api/devices/1/registers?table=holding&from=0&count=2", null, HttpStatusCode.OK },
        { AuditorToken, "GET", "api/devices", null, HttpStatusCode.OK },
        { AuditorToken, "GET", "api/devices/1/registers?table=holding&from=0&count=2", null, HttpStatusCode.Forbidden },
        { ViewerToken, "GET", "api/sessions", null, HttpStatusCode.OK },
        { null, "GET", "api/connections", null, HttpStatusCode.Unauthorized },
        { ViewerToken, "GET", "metrics", null, HttpStatusCode.OK },
        { null, "GET", "metrics", null, HttpStatusCode.Unauthorized },
        { null, "GET", "healthz", null, HttpStatusCode.OK },
        { "wrong", "GET", "healthz", null, HttpStatusCode.OK },
        { null, "GET", "readyz", null, HttpStatusCode.OK },
        { ViewerToken, "PUT", "api/devices/1/registers/5?table=holding", """{"value":7}""", HttpStatusCode.Forbidden },
        { OperatorToken, "PUT", "api/devices/1/registers/5?table=holding", """{"value":7}""", HttpStatusCode.OK },
        { null, "PUT", "api/devices/1/registers/5?table=holding", """{"value":7}""", HttpStatusCode.Unauthorized },
        { "wrong", "PUT", "api/devices/1/registers/5?table=holding", """{"value":7}""", HttpStatusCode.Unauthorized },
        { OperatorToken, "PUT", "api/devices/1/registers/50?table=holding", """{"value":7}""", HttpStatusCode.Forbidden },
        { OperatorToken, "PUT", "api/devices/1/registers/9?table=holding", """{"raw":[1,2]}""", HttpStatusCode.Forbidden },
        { OperatorToken, "PUT", "api/devices/1/registers/5?table=coils", """{"value":true}""", HttpStatusCode.Forbidden },
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Each_role_gets_what_its_rules_allow_and_nobody_else_gets_anything(string? token, string method, string path, string? body, HttpStatusCode expected)
    {
        await using var server = await McpdTestServer.StartAsync(Roles());
        using var http = new HttpClient { BaseAddress = server.AdminUri };

        using var response = await http.SendAsync(Request(method, path, token, body));

        Assert.Equal(expected, response.StatusCode);
        if (expected is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
            Assert.False(string.IsNullOrEmpty(await ErrorOf(response)));
            Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        }
    }

    [Fact]
    public async Task A_refusal_says_which_access_was_missing_and_changes_nothing()
    {
        await using var server = await McpdTestServer.StartAsync(Roles());
        using var http = new HttpClient { BaseAddress = server.AdminUri };
        await using var modbus = await server.ConnectClientAsync();

        using var outside = await http.SendAsync(Request("PUT", "api/devices/1/registers/9?table=holding", OperatorToken, """{"raw":[1,2]}"""));
        using var viewer = await http.SendAsync(Request("PUT", "api/devices/1/registers/5?table=holding", ViewerToken, """{"value":7}"""));
        using var none = await http.SendAsync(Request("GET", "api/devices", token: null));
        using var wrong = await http.SendAsync(Request("GET", "api/devices", "wrong"));

        Assert.Equal("ops-dashboard (role Operator) has no write access to holding 9..10 of unit 1", await ErrorOf(outside));
        Assert.Equal("wall-display (role Viewer) has no write access", await ErrorOf(viewer));
        Assert.Equal("insufficient_scope", Parameter(outside, "error"));
        Assert.Equal("this server needs a bearer token: send Authorization: Bearer TOKEN (docs/security.md)", await ErrorOf(none));
        Assert.Null(Assert.Single(none.Headers.WwwAuthenticate).Parameter);
        Assert.Equal("the bearer token is not one of admin.tokens", await ErrorOf(wrong));
        Assert.Equal("invalid_token", Parameter(wrong, "error"));
        Assert.Equal([0, 0], await modbus.ReadHoldingRegistersAsync(1, 9, 2));
        Assert.Equal([0], await modbus.ReadHoldingRegistersAsync(1, 5, 1));
        using var scrape = await http.SendAsync(Request("GET", "metrics", ViewerToken));
        Assert.Equal(2, PrometheusText.Parse(await scrape.Content.ReadAsStringAsync()).Value("mcpd_requests_denied_total", ("listener", "admin")));
    }

    [Fact]
    public async Task Over_tls_a_client_certificate_names_the_caller_and_its_role_decides_without_a_token()
    {
        using var pki = new TestPki();
        var settings = Roles();
        settings["admin:tls:certificate"] = pki.ServerCertificateFile;
        settings["admin:tls:key"] = pki.ServerKeyFile;
        settings["admin:tls:clientCa"] = pki.AuthorityFile;
        await using var server = await McpdTestServer.StartAsync(settings);
        using var alice = Https(server, pki, pki.Client("alice", "Operator"));
        using var bob = Https(server, pki, pki.Client("bob", "Viewer"));

        using var read = await bob.SendAsync(Request("GET", "api/devices", token: null));
        using var refused = await bob.SendAsync(Request("PUT", "api/devices/1/registers/5?table=holding", token: null, """{"value":7}"""));
        using var written = await alice.SendAsync(Request("PUT", "api/devices/1/registers/5?table=holding", token: null, """{"value":7}"""));
        using var outside = await alice.SendAsync(Request("PUT", "api/devices/1/registers/50?table=holding", token: null, """{"value":7}"""));

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("bob (role Viewer) has no write access", await ErrorOf(refused));
        Assert.Equal(HttpStatusCode.OK, written.StatusCode);
        Assert.Equal("alice (role Operator) has no write access to holding 50 of unit 1", await ErrorOf(outside));
        Assert.Contains(server.Logs.Lines, l => l.Message == "admin: alice (role Operator) writes unit 1, Holding 5 x1");
    }

    [Fact]
    public async Task A_write_is_logged_with_its_caller_and_never_a_token()
    {
        await using var server = await McpdTestServer.StartAsync(Roles());
        using var http = new HttpClient { BaseAddress = server.AdminUri };

        using var written = await http.SendAsync(Request("PUT", "api/devices/1/registers/5?table=holding", OperatorToken, """{"value":7}"""));

        Assert.Equal(HttpStatusCode.OK, written.StatusCode);
        var line = Assert.Single(server.Logs.Lines, l => l.EventId.Id == 410);
        Assert.Equal("Mcpd.Audit", line.Category);
        Assert.Equal("admin: ops-dashboard (role Operator) writes unit 1, Holding 5 x1", line.Message);
        Assert.DoesNotContain(server.Logs.Lines, l => l.Message.Contains(OperatorToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_request_for_another_host_name_is_refused_so_dns_rebinding_reaches_nothing()
    {
        await using var server = await McpdTestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.AdminUri };
        var port = server.AdminUri.Port;

        using var rebound = await http.SendAsync(WithHost(Request("GET", "api/devices", token: null), $"evil.example:{port}"));
        using var localhost = await http.SendAsync(WithHost(Request("GET", "api/devices", token: null), $"localhost:{port}"));
        using var ipv6 = await http.SendAsync(WithHost(Request("GET", "api/devices", token: null), $"[::1]:{port}"));
        using var probe = await http.SendAsync(WithHost(Request("GET", "healthz", token: null), "lb.example"));

        Assert.Equal(HttpStatusCode.MisdirectedRequest, rebound.StatusCode);
        Assert.StartsWith("the Host 'evil.example:", await ErrorOf(rebound), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, localhost.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ipv6.StatusCode);
        Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
    }

    [Fact]
    public async Task Configured_host_names_replace_the_default_ones()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["admin:allowedHosts:0"] = "mcpd.plant.example" });
        using var http = new HttpClient { BaseAddress = server.AdminUri };

        using var named = await http.SendAsync(WithHost(Request("GET", "api/devices", token: null), "MCPD.plant.example:8443"));
        using var loopback = await http.SendAsync(WithHost(Request("GET", "api/devices", token: null), "localhost"));

        Assert.Equal(HttpStatusCode.OK, named.StatusCode);
        Assert.Equal(HttpStatusCode.MisdirectedRequest, loopback.StatusCode);
    }

    [Fact]
    public async Task No_cors_header_is_sent_unless_the_origin_is_configured()
    {
        await using var closed = await McpdTestServer.StartAsync();
        await using var open = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["admin:cors:origins:0"] = "https://dash.example" });

        using var byDefault = await SendFromAsync(closed, "https://dash.example");
        using var allowed = await SendFromAsync(open, "https://dash.example");
        using var other = await SendFromAsync(open, "https://evil.example");
        using var http = new HttpClient { BaseAddress = open.AdminUri };
        var preflight = Request("OPTIONS", "api/devices/1/registers/0", token: null);
        preflight.Headers.Add("Origin", "https://dash.example");
        preflight.Headers.Add("Access-Control-Request-Method", "PUT");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization, content-type");
        using var preflightResponse = await http.SendAsync(preflight);

        Assert.Equal(HttpStatusCode.OK, byDefault.StatusCode);
        Assert.False(byDefault.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal("https://dash.example", Assert.Single(allowed.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.Equal(HttpStatusCode.NoContent, preflightResponse.StatusCode);
        Assert.Equal("https://dash.example", Assert.Single(preflightResponse.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("authorization", string.Join(",", preflightResponse.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task After_ten_failures_an_address_is_answered_429_until_its_window_passes_and_one_line_is_logged()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await McpdTestServer.StartAsync(Roles(), builder => builder.Services.AddSingleton<TimeProvider>(time));
        using var http = new HttpClient { BaseAddress = server.AdminUri };
        const string guess = "guess-0123456789";

        var failures = new List<HttpStatusCode>();
        for (var attempt = 0; attempt < 10; attempt++)
        {
            using var failed = await http.SendAsync(Request("GET", "api/devices", guess));
            failures.Add(failed.StatusCode);
        }

        using var limited = await http.SendAsync(Request("GET", "api/devices", guess));
        using var evenTheRightToken = await http.SendAsync(Request("GET", "api/devices", ViewerToken));
        using var probe = await http.SendAsync(Request("GET", "healthz", guess));
        time.Advance(TimeSpan.FromSeconds(61));
        using var later = await http.SendAsync(Request("GET", "api/devices", ViewerToken));
        var metrics = PrometheusText.Parse(await (await http.SendAsync(Request("GET", "metrics", ViewerToken))).Content.ReadAsStringAsync());

        Assert.All(failures, status => Assert.Equal(HttpStatusCode.Unauthorized, status));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(60), limited.Headers.RetryAfter?.Delta);
        Assert.StartsWith("too many failed authentications from this address", await ErrorOf(limited), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.TooManyRequests, evenTheRightToken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, probe.StatusCode);
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
        Assert.Equal(10, metrics.Value("mcpd_admin_auth_failures_total", ("reason", "unknown_token")));
        Assert.Equal(2, metrics.Value("mcpd_admin_auth_failures_total", ("reason", "rate_limited")));
        var line = Assert.Single(server.Logs.Lines, l => l.EventId.Id == 1000);
        Assert.Contains("a request from 127.0.0.1 failed authentication (a token that is not in admin.tokens)", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Logs.Lines, l => l.Message.Contains(guess, StringComparison.Ordinal) || l.Message.Contains(ViewerToken, StringComparison.Ordinal));
    }

    private static HttpRequestMessage Request(string method, string path, string? token, string? body = null)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        return request;
    }

    /// <summary>A client of the HTTPS admin listener that trusts <paramref name="pki"/>'s CA and presents <paramref name="certificate"/>.</summary>
    private static HttpClient Https(McpdTestServer server, TestPki pki, X509Certificate2 certificate) =>
        new(new HttpClientHandler
        {
            ClientCertificateOptions = ClientCertificateOption.Manual,
            ClientCertificates = { certificate },
            ServerCertificateCustomValidationCallback = (_, presented, _, _) => TestPki.ChainsTo(pki.Authority, presented),
        })
        {
            BaseAddress = new Uri($"https://{server.EndPointOf(ListenerNames.Admin)}/"),
        };

    private static HttpRequestMessage WithHost(HttpRequestMessage request, string host)
    {
        request.Headers.Host = host;
        return request;
    }

    private static async Task<HttpResponseMessage> SendFromAsync(McpdTestServer server, string origin)
    {
        using var http = new HttpClient { BaseAddress = server.AdminUri };
        var request = Request("GET", "api/devices", token: null);
        request.Headers.Add("Origin", origin);
        return await http.SendAsync(request);
    }

    private static async Task<string?> ErrorOf(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString();

    /// <summary>A parameter of the response's one <c>WWW-Authenticate: Bearer</c> challenge (RFC 6750 3).</summary>
    private static string? Parameter(HttpResponseMessage response, string name) =>
        Assert.Single(response.Headers.WwwAuthenticate).Parameter?.Split(',')
            .Select(pair => pair.Split('=', 2))
            .Where(pair => pair[0].Trim() == name)
            .Select(pair => pair[1].Trim('"'))
            .SingleOrDefault();

    internal static string Sha256(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
