using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mcpd.Server.Tests.Configuration;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Cli;

/// <summary>The mcpd executable as a user runs it: a separate process, its output and its exit code.</summary>
public partial class CliTests
{
    private static readonly string McpdDll = typeof(Mcpd.Cli.ExitCodes).Assembly.Location;
    private static readonly string ExampleFile = Path.Combine(ConfigurationTests.RepositoryRoot(), "docs", "mcpd.example.yaml");

    [Fact]
    public async Task Read_prints_named_typed_values_from_a_map()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await Mcpd("read", Endpoint(server), "holding", "0", "2", "--map", ExampleFile);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Matches(@"0\s+temperature\s+100 °C\s+0x0064\s+temperature sensor", result.StandardOutput);
        Assert.Matches(@"1\s+humidity\s+85 %\s+0x0055\s+humidity percent", result.StandardOutput);
    }

    [Fact]
    public async Task Read_json_is_parseable_by_scripts()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await Mcpd("read", Endpoint(server), "--unit", "1", "holding", "0", "2", "--json");

        Assert.True(result.Succeeded, result.ToString());
        using var json = JsonDocument.Parse(result.StandardOutput);
        Assert.Equal([100, 85], json.RootElement.GetProperty("values").EnumerateArray().Select(v => v.GetProperty("value").GetDouble()));
        Assert.Equal("holding", json.RootElement.GetProperty("table").GetString());
    }

    [Fact]
    public async Task Write_registers_and_coils_then_read_them_back()
    {
        await using var server = await McpdTestServer.StartAsync();

        var registers = await Mcpd("write", Endpoint(server), "holding", "10", "123", "456", "0xFFFF", "-2");
        var coil = await Mcpd("write", Endpoint(server), "coils", "3", "on");
        var typed = await Mcpd("write", Endpoint(server), "holding", "20", "1.5", "--type", "float32");

        Assert.True(registers.Succeeded, registers.ToString());
        Assert.Contains("wrote 4 holding registers at 10..13", registers.StandardOutput, StringComparison.Ordinal);
        Assert.True(coil.Succeeded, coil.ToString());
        Assert.True(typed.Succeeded, typed.ToString());
        await using var client = await server.ConnectClientAsync();
        Assert.Equal([123, 456, 0xFFFF, 0xFFFE], await client.ReadHoldingRegistersAsync(1, 10, 4));
        Assert.Equal(new[] { false, true }, await client.ReadCoilsAsync(1, 2, 2));
        Assert.Equal([0x3FC0, 0x0000], await client.ReadHoldingRegistersAsync(1, 20, 2));
        var read = await Mcpd("read", Endpoint(server), "holding", "20", "2", "--type", "float32");
        Assert.Matches(@"20\s+-\s+1\.5\s+0x3FC0 0x0000", read.StandardOutput);
    }

    [Fact]
    public async Task Modbus_exception_is_one_clear_line_and_exit_code_1()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await Mcpd("read", Endpoint(server), "holding", "9999", "2");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("refused: The server answered function 0x03 with exception 02, illegal data address", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writing_a_read_only_table_is_refused_before_sending()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await Mcpd("write", Endpoint(server), "input", "0", "5");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("<table>: 'input' is not one of coils|holding (discrete inputs and input registers are read-only in Modbus)", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_on_a_port_in_use_says_why_and_exits_3()
    {
        using var occupant = new Socket(SocketType.Stream, ProtocolType.Tcp);
        occupant.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        occupant.Listen();
        var port = ((IPEndPoint)occupant.LocalEndPoint!).Port;

        var result = await Mcpd("serve", "--bind", "127.0.0.1", "--modbus-port", $"{port}", "--mcp-port", "0", "--http-port", "0");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"cannot listen for Modbus TCP on 127.0.0.1:{port}: the port is already in use", result.StandardError, StringComparison.Ordinal);
        Assert.Matches(@"Pick another port with --modbus-port \(for example --modbus-port \d+, free now\) or set modbus:port in the configuration\.", result.StandardError);
        var output = result.StandardOutput + result.StandardError;
        Assert.DoesNotContain("Hosting failed", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("BackgroundService", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_on_an_address_not_of_this_machine_says_so_and_lists_its_addresses()
    {
        var result = await Mcpd("serve", "--bind", "192.0.2.254", "--modbus-port", "0", "--mcp-port", "0", "--http-port", "0");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("cannot listen for Modbus TCP on 192.0.2.254:0: 192.0.2.254 is not an address of this machine (it has 127.0.0.1", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("Pick one of them with --bind, or --bind * for every interface.", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_with_a_wrong_config_prints_every_problem_and_exits_2()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mcpd-bad-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, "modbus:\n  prot: 502\n  port: abc\ndevices:\n  - unit: 300\n");
        try
        {
            var result = await Mcpd("serve", "--config", file, "--mcp-port", "0", "--http-port", "0");

            Assert.Equal(2, result.ExitCode);
            Assert.Contains("has 3 problem(s)", result.StandardError, StringComparison.Ordinal);
            Assert.Contains("modbus:prot: unknown setting", result.StandardError, StringComparison.Ordinal);
            Assert.Contains("modbus:port: 'abc' is not a whole number", result.StandardError, StringComparison.Ordinal);
            Assert.Contains("devices:0:unit: 300 is outside 1..247", result.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Call_prints_status_and_body_and_ping_prints_round_trips()
    {
        await using var server = await McpdTestServer.StartAsync();
        var endpoint = $"127.0.0.1:{server.McpEndPoint.Port}";

        var echo = await Mcpd("call", endpoint, "sys.echo", "--body", "hello device");
        var pdu = await Mcpd("call", endpoint, "modbus.pdu", "--header", "unit=1", "--body-hex", "0300000002");
        var missing = await Mcpd("call", endpoint, "no.such");
        var ping = await Mcpd("ping", endpoint, "--count", "2", "--interval", "0.1");

        Assert.True(echo.Succeeded, echo.ToString());
        Assert.StartsWith("status: 0 OK", echo.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("hello device", echo.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("030400640055", pdu.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("status: 2 NOT_FOUND", missing.StandardOutput, StringComparison.Ordinal);
        Assert.True(ping.Succeeded, ping.ToString());
        Assert.Equal(2, ping.StandardOutput.Split('\n').Count(l => l.StartsWith("PONG from", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Call_and_ping_speak_the_crc_framing_with_crc()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["mcp:crcPort"] = "0" });
        var endpoint = $"127.0.0.1:{server.McpCrcEndPoint.Port}";

        var echo = await Mcpd("call", endpoint, "sys.echo", "--body", "over crc", "--crc");
        var ping = await Mcpd("ping", endpoint, "--count", "1", "--crc");

        Assert.True(echo.Succeeded, echo.ToString());
        Assert.Contains("over crc", echo.StandardOutput, StringComparison.Ordinal);
        Assert.True(ping.Succeeded, ping.ToString());
    }

    [Fact]
    public async Task Bench_runs_both_protocols_and_prints_the_summary_line()
    {
        await using var server = await McpdTestServer.StartAsync();

        var modbus = await Mcpd("bench", "modbus", $"127.0.0.1:{server.ModbusEndPoint.Port}", "--conns", "2", "--depth", "2", "--requests", "400", "--quiet");
        var mcp = await Mcpd("bench", "mcp", $"127.0.0.1:{server.McpEndPoint.Port}", "-c", "2", "-n", "300", "-q", "--body-bytes", "64");

        Assert.True(modbus.Succeeded, modbus.ToString());
        Assert.Matches(@"^requests=400 rps=\d+ p50_us=[\d.]+ p99_us=[\d.]+ p999_us=[\d.]+ max_us=[\d.]+ errors=0 conns=2 depth=2", modbus.StandardOutput);
        Assert.True(mcp.Succeeded, mcp.ToString());
        Assert.Matches(@"^requests=300 .* errors=0 conns=2 depth=1", mcp.StandardOutput);
    }

    [Fact]
    public async Task The_version_comes_from_git_so_each_build_is_newer()
    {
        var result = await Mcpd("--version");

        // 0.2.N+commit: N counts the commits, so a rebuilt tool is newer than the one installed (dotnet tool update).
        Assert.True(result.Succeeded, result.ToString());
        Assert.Matches(@"^0\.2\.[1-9]\d*\+[0-9a-f]{7,}", result.StandardOutput.Trim());
    }

    [Fact]
    public async Task Config_check_accepts_the_documented_example()
    {
        var result = await Mcpd("config", "check", ExampleFile);

        Assert.True(result.Succeeded, result.ToString());
        Assert.EndsWith(": OK", result.StandardOutput.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_show_prints_each_effective_value_with_its_source_and_masks_tokens()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mcpd-show-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, "modbus:\n  port: 5020\nsessions:\n  tokens:\n    plc-7: s3cret\n");
        try
        {
            var result = await ProcessRunner.RunAsync("dotnet", [McpdDll, "config", "show", file], environment: new Dictionary<string, string> { ["MCPD__MCP__PORT"] = "9000" });

            Assert.True(result.Succeeded, result.ToString());
            var lines = result.StandardOutput.Split('\n');
            Assert.Contains(lines, l => l.StartsWith("modbus:port = 5020", StringComparison.Ordinal) && l.EndsWith($"# file {Path.GetFileName(file)}", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("mcp:port = 9000", StringComparison.Ordinal) && l.EndsWith("# environment MCPD__MCP__PORT", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("mcp:heartbeatInterval = 00:00:30", StringComparison.Ordinal) && l.EndsWith("# default", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("sessions:tokens:plc-7 = ***", StringComparison.Ordinal));
            Assert.DoesNotContain("s3cret", result.StandardOutput, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Serve_answers_then_stops_cleanly_on_SIGTERM_saying_what_it_drains()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { McpdDll, "serve", "--bind", "127.0.0.1", "--modbus-port", "0", "--mcp-port", "0", "--http-port", "0" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        try
        {
            var port = await ReadListeningPortAsync(process);
            await using var client = await Client.Modbus.ModbusTcpClient.ConnectAsync("127.0.0.1", port);
            Assert.Equal([100, 85], await client.ReadHoldingRegistersAsync(1, 0, 2));
            using (var kill = Process.Start("kill", ["-TERM", $"{process.Id}"]))
            {
                await kill.WaitForExitAsync();
            }

            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var rest = await process.StandardOutput.ReadToEndAsync(deadline.Token);
            await process.WaitForExitAsync(deadline.Token);
            Assert.Equal(0, process.ExitCode);
            Assert.Contains("stopping: draining 1 connection(s)", rest, StringComparison.Ordinal);
            Assert.EndsWith("stopped", rest.TrimEnd(), StringComparison.Ordinal);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task<int> ReadListeningPortAsync(Process process)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await process.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
        {
            var match = ListeningLine().Match(line);
            if (match.Success)
            {
                return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"mcpd exited before listening: {await process.StandardError.ReadToEndAsync()}");
    }

    [GeneratedRegex(@"modbus listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningLine();

    internal static string Endpoint(McpdTestServer server) => $"127.0.0.1:{server.ModbusEndPoint.Port}";

    internal static Task<ProcessResult> Mcpd(params string[] arguments) => ProcessRunner.RunAsync("dotnet", [McpdDll, .. arguments]);
}
