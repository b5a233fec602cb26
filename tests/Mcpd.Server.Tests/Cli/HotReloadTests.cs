using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Mcpd.Client.Mcp;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Mcp;

using Mcpd.Testing;

namespace Mcpd.Server.Tests.Cli;

/// <summary>Hot reload of the configuration file under `mcpd serve`, with clients that stay connected.</summary>
public sealed partial class HotReloadTests : IAsyncDisposable
{
    private static readonly string McpdDll = typeof(Mcpd.Cli.ExitCodes).Assembly.Location;

    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-reload-").FullName;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    private string ConfigFile => Path.Combine(_directory, "mcpd.yaml");

    [Fact]
    public async Task A_register_value_and_a_route_change_while_clients_stay_connected_and_invalid_edits_are_rejected()
    {
        await File.WriteAllTextAsync(ConfigFile, Config(temperature: "100", withRoute: false));
        var (modbusPort, mcpPort) = await StartAsync();
        await using var modbus = await ModbusTcpClient.ConnectAsync("127.0.0.1", modbusPort);
        await using var mcp = await McpClient.ConnectAsync("127.0.0.1", mcpPort);
        Assert.Equal([100], await modbus.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(McpStatus.NotFound, (await mcp.CallAsync("plc.read", Convert.FromHexString("0300000001"))).Status);

        await File.WriteAllTextAsync(ConfigFile, Config(temperature: "250", withRoute: true));
        await WaitForOutputAsync("Configuration changed: applied");
        await Eventually.HoldsAsync(async () => (await modbus.ReadHoldingRegistersAsync(1, 0, 1))[0] == 250, TimeSpan.FromSeconds(15));
        var routed = await mcp.CallAsync("plc.read", Convert.FromHexString("0300000001"));
        Assert.Equal("030200FA", Convert.ToHexString(routed.Body));

        await File.WriteAllTextAsync(ConfigFile, Config(temperature: "999", withRoute: false).Replace("maxConnections: 100", "maxConnections: -5", StringComparison.Ordinal));
        Assert.Contains("modbus:maxConnections", await WaitForOutputAsync("Configuration change rejected"), StringComparison.Ordinal);
        await File.WriteAllTextAsync(ConfigFile, "modbus: [this is: not: yaml");
        await Eventually.HoldsAsync(() => Task.FromResult(_output.Count(line => line.Contains("Configuration change rejected", StringComparison.Ordinal)) == 2), TimeSpan.FromSeconds(15));

        Assert.Equal([250], await modbus.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.Equal(McpStatus.Ok, (await mcp.CallAsync("plc.read", Convert.FromHexString("0300000001"))).Status);
        Assert.Contains(_output, line => line.Contains("Configuration change rejected", StringComparison.Ordinal) && line.Contains("mcpd.yaml", StringComparison.Ordinal));
        // The broken edit is named by line and column, as the parser found it, never "Exception of type 'System.Exception'".
        Assert.Contains(_output, line => line.Contains("Configuration change rejected", StringComparison.Ordinal) && line.Contains("mcpd.yaml:1:", StringComparison.Ordinal));
        Assert.DoesNotContain(_output, line => line.Contains("Exception of type", StringComparison.Ordinal));
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

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
        {{(withRoute ? "routing:\n  rules:\n    - method: \"plc.*\"\n      target: device:sensor\n" : "")}}
        """;

    private async Task<(int Modbus, int Mcp)> StartAsync()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { McpdDll, "serve", "--config", ConfigFile })
        {
            start.ArgumentList.Add(argument);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, line) => _output.Enqueue(line.Data ?? "");
        _process.ErrorDataReceived += (_, line) => _output.Enqueue(line.Data ?? "");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var modbus = Port(await WaitForOutputAsync("modbus listening on"));
        var mcp = Port(await WaitForOutputAsync("mcp listening on"));
        return (modbus, mcp);
    }

    private static int Port(string line) => int.Parse(PortPattern().Match(line).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

    private async Task<string> WaitForOutputAsync(string text)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (_output.FirstOrDefault(line => line.Contains(text, StringComparison.Ordinal)) is { } found)
            {
                return found;
            }

            if (_process!.HasExited)
            {
                break;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"No output line containing '{text}' within 15 s. Output:\n{string.Join('\n', _output)}");
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex PortPattern();
}
