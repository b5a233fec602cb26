using System.Net;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Admin;

/// <summary>The HTTP admin API (docs/api.md) on the real host.</summary>
public class AdminApiTests
{
    [Fact]
    public async Task Healthz_answers_on_the_admin_listener()
    {
        await using var server = await McpdTestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.AdminUri };

        using var response = await http.GetAsync(new Uri("healthz", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok\n", await response.Content.ReadAsStringAsync());
    }
}
