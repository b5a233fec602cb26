using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Mcpd.Client.Mcp;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Mcp;
using Mcpd.Protocols.Modbus;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Cli;

/// <summary>
/// Hot reload of the configuration file under `mcpd serve`, with clients that stay connected. It cannot lose data
/// (issue 12): a file that is empty, missing or half written is never applied as "all defaults", initial values never
/// overwrite what clients wrote, and SIGTERM never waits for a reload. Admin tokens apply to the next request (issue 11).
/// </summary>
public sealed class HotReloadTests : IAsyncDisposable
{
    private static readonly string McpdDll = typeof(Mcpd.Cli.ExitCodes).Assembly.Location;

    /// <summary>Every listener on 127.0.0.1, on a free port; the admin section last, for settings of its own.</summary>
    private const string LoopbackListeners = "modbus:\n  port: 0\n  bind: 127.0.0.1\nmcp:\n  port: 0\n  bind: 127.0.0.1\nadmin:\n  port: 0\n";

    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-reload-").FullName;

    private string ConfigFile => Path.Combine(_directory, "mcpd.yaml");

    [Fact]
    public async Task A_new_register_and_a_route_apply_while_clients_stay_connected_and_invalid_edits_are_rejected()
    {
        await File.WriteAllTextAsync(ConfigFile, Config(temperature: "100", withRoute: false));
        var (server, modbusPort) = await McpdProcess.StartAsync(McpdDll, ConfigFile);
        await using var running = server;
        var mcpPort = McpdProcess.ListenerPort(await server.WaitForOutputAsync("mcp listening on"));
        await using var modbus = await ModbusTcpClient.ConnectAsync("127.0.0.1", modbusPort);
        await using var mcp = await McpClient.ConnectAsync("127.0.0.1", mcpPort);
        Assert.Equal([100], await modbus.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(McpStatus.NotFound, (await mcp.CallAsync("plc.read", Convert.FromHexString("0300000001"))).Status);

        await File.WriteAllTextAsync(ConfigFile, Config(temperature: "250", withRoute: true));
        await server.WaitForOutputAsync("Configuration changed: applied");
        // The new register starts at its initial value; the existing one keeps its live value (initial values never overwrite).
        Assert.Equal([100, 42], await modbus.ReadHoldingRegistersAsync(1, 0, 2));
        var routed = await mcp.CallAsync("plc.read", Convert.FromHexString("0300000001"));
        Assert.Equal("03020064", Convert.ToHexString(routed.Body));

        await File.WriteAllTextAsync(ConfigFile, Config(temperature: "999", withRoute: false).Replace("maxConnections: 100", "maxConnections: -5", StringComparison.Ordinal));
        Assert.Contains("modbus:maxConnections", await server.WaitForOutputAsync("Configuration change rejected"), StringComparison.Ordinal);
        await File.WriteAllTextAsync(ConfigFile, "modbus: [this is: not: yaml");
        // The broken edit is named by line and column, as the parser found it, never "Exception of type 'System.Exception'".
        Assert.Contains("mcpd.yaml:1:", await server.WaitForOutputAsync("Configuration change rejected", count: 2), StringComparison.Ordinal);

        Assert.Equal([100], await modbus.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(McpStatus.Ok, (await mcp.CallAsync("plc.read", Convert.FromHexString("0300000001"))).Status);
        Assert.DoesNotContain(server.Output, line => line.Contains("Exception of type", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_empty_missing_or_half_written_file_is_rejected_and_the_old_map_keeps_serving_and_protecting_and_its_return_keeps_written_values()
    {
        var config = MapConfig(registers: 200);
        await File.WriteAllTextAsync(ConfigFile, config);
        var (server, port) = await McpdProcess.StartAsync(McpdDll, ConfigFile);
        await using var running = server;
        await using var client = await ModbusTcpClient.ConnectAsync("127.0.0.1", port);
        await client.WriteSingleRegisterAsync(1, 0, 321);
        await AssertProtectedAsync(client);

        File.WriteAllText(ConfigFile, "");
        Assert.Contains("has no settings", await server.WaitForOutputAsync("Configuration change rejected", 1), StringComparison.Ordinal);
        await AssertProtectedAsync(client);

        File.Delete(ConfigFile);
        Assert.Contains("does not exist", await server.WaitForOutputAsync("Configuration change rejected", 2), StringComparison.Ordinal);
        await AssertProtectedAsync(client);

        // Half the file, cut inside an entry, as a writer that stopped half way leaves it.
        File.WriteAllText(ConfigFile, config[..(config.Length / 2)]);
        Assert.Contains("mcpd.yaml:", await server.WaitForOutputAsync("Configuration change rejected", 3), StringComparison.Ordinal);
        await AssertProtectedAsync(client);
        Assert.Equal([321, 1], await client.ReadHoldingRegistersAsync(1, 0, 2));

        File.WriteAllText(ConfigFile, config);
        await server.WaitForOutputAsync("Configuration changed: applied");
        Assert.Equal([321, 1], await client.ReadHoldingRegistersAsync(1, 0, 2));
        await AssertProtectedAsync(client);
        Assert.Single(server.Output, line => line.Contains("Configuration changed: applied", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SIGTERM_during_a_long_reload_exits_promptly()
    {
        await File.WriteAllTextAsync(ConfigFile, MapConfig(registers: 65_536, units: 4));
        var (server, _) = await McpdProcess.StartAsync(McpdDll, ConfigFile);
        await using var running = server;

        await File.WriteAllTextAsync(ConfigFile, MapConfig(registers: 65_536, units: 4, value: 2));
        await server.WaitForOutputAsync("changed: reading and checking it", timeout: TimeSpan.FromSeconds(30));
        var stopping = Stopwatch.StartNew();
        await server.TerminateAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await server.Process.WaitForExitAsync(deadline.Token);

        Assert.Equal(0, server.Process.ExitCode);
        // The reload (seconds for 4 x 65,536 entries) was still in progress: it never got to apply.
        Assert.DoesNotContain(server.Output, line => line.Contains("Configuration changed: applied", StringComparison.Ordinal));
        // 0.1 to 0.3 s measured with the machine's load average at 13.
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(2), $"SIGTERM took {stopping.Elapsed} to stop mcpd during a reload");
    }

    [Fact]
    public async Task Admin_tokens_removed_from_the_file_are_refused_and_new_ones_accepted_once_the_reload_applies()
    {
        await File.WriteAllTextAsync(ConfigFile, TokenConfig("display-1", "first-token"));
        var (server, _) = await McpdProcess.StartAsync(McpdDll, ConfigFile);
        await using var running = server;
        var port = McpdProcess.ListenerPort(await server.WaitForOutputAsync("admin listening on"));
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        Assert.Equal(HttpStatusCode.OK, await AdminStatusAsync(http, "first-token"));

        await File.WriteAllTextAsync(ConfigFile, TokenConfig("display-2", "second-token"));
        await server.WaitForOutputAsync("Configuration changed: applied");

        Assert.Equal(HttpStatusCode.Unauthorized, await AdminStatusAsync(http, "first-token"));
        Assert.Equal(HttpStatusCode.OK, await AdminStatusAsync(http, "second-token"));
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    private static async Task<HttpStatusCode> AdminStatusAsync(HttpClient http, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("api/devices", UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>A file with viewer token <paramref name="token"/>, held by <paramref name="name"/>.</summary>
    private static string TokenConfig(string name, string token) => LoopbackListeners + $$"""
          tokens:
            - name: {{name}}
              sha256: {{Admin.AdminSecurityTests.Sha256(token)}}
              role: Viewer
        security:
          roles:
            Viewer: [ { access: read } ]
        """;

    private static string Config(string temperature, bool withRoute) => $$"""
        modbus:
          port: 0
          bind: 127.0.0.1
          maxConnections: 100
        mcp:
          port: 0
          bind: 127.0.0.1
        admin:
          port: 0
        devices:
          - unit: 1
            name: sensor
            registers:
              - table: holding
                address: 0
                name: temperature
                value: "{{temperature}}"
        {{(withRoute ? "      - table: holding\n        address: 1\n        name: setpoint\n        value: \"42\"\nrouting:\n  rules:\n    - method: \"plc.*\"\n      target: device:sensor\n" : "")}}
        """;

    /// <summary>Holding register 1 is read-only: a write is refused with 02 and its value stays.</summary>
    private static async Task AssertProtectedAsync(ModbusTcpClient client)
    {
        var refused = await Assert.ThrowsAsync<ModbusException>(() => client.WriteSingleRegisterAsync(1, 1, 7));
        Assert.Equal(ModbusExceptionCode.IllegalDataAddress, refused.Code);
        Assert.Equal([1], await client.ReadHoldingRegistersAsync(1, 1, 1));
    }

    /// <summary>Units 1.. with <paramref name="registers"/> holding registers each, all of initial value <paramref name="value"/>; unit 1's register 1 is read-only.</summary>
    private static string MapConfig(int registers, int units = 1, int value = 1)
    {
        var text = new StringBuilder(LoopbackListeners).Append("devices:\n");
        for (var unit = 1; unit <= units; unit++)
        {
            text.Append($"  - unit: {unit}\n    holdingRegisters: 65536\n    registers:\n");
            for (var address = 0; address < registers; address++)
            {
                var readOnly = unit == 1 && address == 1 ? ", readOnly: true" : "";
                text.Append($"      - {{ table: holding, address: {address}, name: r{address}, value: \"{value}\"{readOnly} }}\n");
            }
        }

        return text.ToString();
    }
}
