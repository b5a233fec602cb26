using System.Net;
using System.Net.Http.Headers;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Admin;

/// <summary>Under `mcpd serve`, a changed admin.tokens applies to the next request, without a restart.</summary>
public sealed class AdminTokenReloadTests : IAsyncDisposable
{
    private static readonly string McpdDll = typeof(Mcpd.Cli.ExitCodes).Assembly.Location;

    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-admin-reload-").FullName;

    private string ConfigFile => Path.Combine(_directory, "mcpd.yaml");

    [Fact]
    public async Task A_token_removed_from_the_file_is_refused_and_one_added_is_accepted_once_the_reload_applies()
    {
        await File.WriteAllTextAsync(ConfigFile, Config("display-1", "first-token"));
        var (server, _) = await McpdProcess.StartAsync(McpdDll, ConfigFile);
        await using var running = server;
        var port = McpdProcess.ListenerPort(await server.WaitForOutputAsync("admin listening on"));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, "first-token"));

        await File.WriteAllTextAsync(ConfigFile, Config("display-2", "second-token"));
        await server.WaitForOutputAsync("Configuration changed: applied");

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(http, "first-token"));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(http, "second-token"));
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("api/devices", UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static string Config(string name, string token) => $$"""
        modbus:
          port: 0
          bind: 127.0.0.1
        mcp:
          port: 0
          bind: 127.0.0.1
        admin:
          port: 0
          tokens:
            - name: {{name}}
              sha256: {{AdminSecurityTests.Sha256(token)}}
              role: Viewer
        security:
          roles:
            Viewer: [ { access: read } ]
        """;
}
