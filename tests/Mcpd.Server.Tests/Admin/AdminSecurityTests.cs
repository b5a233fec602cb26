using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Admin;

/// <summary>The admin API on a hostile network (docs/security.md): Host names, CORS.</summary>
public class AdminSecurityTests
{
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
}
