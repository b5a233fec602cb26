using Mcpd.Server.Security;
using Mcpd.Server.Tests.Configuration;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Cli;

/// <summary>
/// The CLI when the user makes a mistake: which argument is wrong and what it accepts, in one line and a usage line
/// (exit code 2), never .NET type names or the whole help; which side refused; the server's protocol when the port is
/// the wrong one.
/// </summary>
public class CliMistakeTests
{
    [Theory]
    [InlineData("read|127.0.0.1:1|holding|abc", "mcpd read: <address>: 'abc' is not a zero-based address (0..65535)")]
    [InlineData("read|127.0.0.1:1|holding|0|--unit|300", "mcpd read: --unit: '300' is not a unit id (0..255)")]
    [InlineData("read|127.0.0.1:1|holding|0|126", "mcpd read: <count>: 126 registers are more than one read can carry (125, Modbus Application Protocol 6.3)")]
    [InlineData("read|127.0.0.1:1|holding|0|63|--type|float32", "mcpd read: <count>: 126 registers are more than one read can carry")]
    [InlineData("read|127.0.0.1:1|holding|0|--type|double", "mcpd read: --type: 'double' is not one of uint16|int16|uint32|int32|float32|string")]
    [InlineData("read|127.0.0.1:1|holding", "mcpd read: missing <address>")]
    [InlineData("serve|--modbus-port|x", "mcpd serve: --modbus-port: 'x' is not a TCP port (0..65535)")]
    [InlineData("bench|modbus|127.0.0.1:1|--count|200", "mcpd bench modbus: --count: '200' is not a register count (1..125)")]
    [InlineData("bench|modbus|127.0.0.1:1|--conns|0", "mcpd bench modbus: --conns: '0' is not a number of connections (1..10000)")]
    [InlineData("call|127.0.0.1:1|sys.echo|--body|a|--body-hex|01", "mcpd call: --body and --body-hex: give the body once")]
    [InlineData("call|127.0.0.1:1|sys.echo|--body-hex|zz", "mcpd call: --body-hex: 'zz' is not hex bytes")]
    [InlineData("write|127.0.0.1:1|holding|0|abc", "mcpd write: <values>: 'abc' is not a 16-bit register value")]
    [InlineData("frob", "mcpd: 'frob' is not a command; the commands are serve, read, write, call, ping, bench, config, cert")]
    [InlineData("bench", "mcpd bench: which command? modbus, mcp")]
    [InlineData("cert", "mcpd cert: which command? ca, server, client")]
    [InlineData("cert|ca|--days|0", "mcpd cert ca: --days: '0' is not a number of days (1..36500)")]
    [InlineData("cert|client|alice|--role|", "mcpd cert client: --role: give the role's name, for example Operator")]
    [InlineData("serve|--log-format|xml", "mcpd serve: --log-format: 'xml' is not one of text|json")]
    public async Task A_wrong_command_line_says_which_argument_and_its_range_then_one_usage_line(string arguments, string expected)
    {
        var result = await CliTests.Mcpd(arguments.Split('|'));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.StandardError, StringComparison.Ordinal);
        Assert.Contains("usage: mcpd ", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Description:", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", result.StandardError, StringComparison.Ordinal);
        Assert.True(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 5, result.StandardError);
    }

    [Fact]
    public async Task Help_names_only_what_is_accepted_and_no_internal_defaults()
    {
        var write = await CliTests.Mcpd("write", "--help");
        var bench = await CliTests.Mcpd("bench", "modbus", "--help");

        Assert.Contains("<coils|holding>", write.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("input", write.StandardOutput.Split("Options:")[0], StringComparison.Ordinal);
        Assert.DoesNotContain("9223372036854775807", bench.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_one_based_address_gets_a_hint_and_the_server_is_named_as_the_one_that_refused()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await CliTests.Mcpd("read", CliTests.Endpoint(server), "holding", "40001");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"{CliTests.Endpoint(server)} refused: The server answered function 0x03 with exception 02, illegal data address", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("hint: addresses are zero-based: register 40001 of a manual is address 0 here", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_check_of_the_client_says_nothing_was_sent()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await CliTests.Mcpd(["write", CliTests.Endpoint(server), "holding", "0", .. Enumerable.Range(1, 124).Select(i => $"{i}")]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("<values>: 124 registers are more than one write can carry (123", result.StandardError, StringComparison.Ordinal);
        await using var client = await server.ConnectClientAsync();
        Assert.Equal([100], await client.ReadHoldingRegistersAsync(1, 0, 1));
    }

    [Fact]
    public async Task Modbus_commands_on_an_mcp_or_http_port_say_what_answers_there()
    {
        await using var server = await McpdTestServer.StartAsync();

        var mcp = await CliTests.Mcpd("read", $"127.0.0.1:{server.McpEndPoint.Port}", "holding", "0");
        var http = await CliTests.Mcpd("read", $"127.0.0.1:{server.AdminUri.Port}", "holding", "0");

        Assert.Equal(1, mcp.ExitCode);
        Assert.Contains("does not speak Modbus TCP: this looks like an MCP server (its frames start with 'MC'): use mcpd call or mcpd ping", mcp.StandardError, StringComparison.Ordinal);
        Assert.Contains("does not speak Modbus TCP: this is an HTTP server", http.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("::ffff:", mcp.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_typed_read_counts_values_of_the_type()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using (var client = await server.ConnectClientAsync())
        {
            await client.WriteMultipleRegistersAsync(1, 10, [0x3FC0, 0x0000, 0x4020, 0x0000, 0xC000, 0x0000]);
        }

        var result = await CliTests.Mcpd("read", CliTests.Endpoint(server), "holding", "10", "3", "--type", "float32");

        Assert.True(result.Succeeded, result.ToString());
        Assert.Matches(@"10\s+-\s+1\.5\s", result.StandardOutput);
        Assert.Matches(@"12\s+-\s+2\.5\s", result.StandardOutput);
        Assert.Matches(@"14\s+-\s+-2\s", result.StandardOutput);
    }

    [Fact]
    public async Task Bench_names_the_status_of_a_failing_method_and_ping_summarises_like_ping()
    {
        await using var server = await McpdTestServer.StartAsync();
        var endpoint = $"127.0.0.1:{server.McpEndPoint.Port}";

        var bench = await CliTests.Mcpd("bench", "mcp", endpoint, "--method", "no.such", "-c", "1", "-n", "5", "-q");
        var ping = await CliTests.Mcpd("ping", endpoint, "-c", "3", "-i", "0.05");
        var hex = await CliTests.Mcpd("call", endpoint, "modbus.pdu", "-H", "unit=1", "--body-hex", "0x03 0x00 0x00 0x00 0x02");

        Assert.Equal(1, bench.ExitCode);
        Assert.Contains("errors=5", bench.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("first error: NOT_FOUND: no method 'no.such'", bench.StandardError, StringComparison.Ordinal);
        Assert.True(ping.Succeeded, ping.ToString());
        Assert.Contains($"--- {endpoint} MCP ping statistics ---", ping.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("3 sent, 3 received, 0% lost", ping.StandardOutput, StringComparison.Ordinal);
        Assert.Matches(@"rtt min/avg/max = [\d.]+/[\d.]+/[\d.]+ ms", ping.StandardOutput);
        Assert.Contains("030400640055", hex.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_yaml_syntax_error_is_file_line_column_and_reason_for_check_serve_and_read_map()
    {
        var file = Path.Combine(Path.GetTempPath(), $"mcpd-syntax-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, "modbus:\n  port: 5020\n  name: \"unclosed\n");
        try
        {
            var check = await CliTests.Mcpd("config", "check", file);
            var serve = await CliTests.Mcpd("serve", "--config", file);
            var read = await CliTests.Mcpd("read", "127.0.0.1:1", "holding", "0", "--map", file);

            var expected = $"{file}:3:9: While scanning a quoted scalar, found unexpected end of stream.";
            Assert.Equal(2, check.ExitCode);
            Assert.Contains(expected, check.StandardOutput, StringComparison.Ordinal);
            Assert.Equal(2, serve.ExitCode);
            Assert.Contains($"mcpd: cannot read the configuration: {expected}", serve.StandardError, StringComparison.Ordinal);
            Assert.Equal(2, read.ExitCode);
            Assert.Contains($"mcpd read: --map: {expected}", read.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("Unhandled exception", read.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_TLS_file_that_cannot_be_used_stops_serve_with_its_key_and_why()
    {
        using var pki = new TestPki();
        var other = Path.Combine(pki.Directory, "other.key");
        DevelopmentCertificates.WritePem(pki.Client("other", null), Path.Combine(pki.Directory, "other.pem"), other);
        var file = Path.Combine(pki.Directory, "mcpd.yaml");
        await File.WriteAllTextAsync(file, $$"""
            modbus: { port: 0, tls: { port: 0, certificate: {{pki.ServerCertificateFile}}, key: {{other}}, clientCa: {{pki.AuthorityFile}} } }
            mcp: { port: 0 }
            admin: { port: 0 }
            security: { roles: { Viewer: [ { access: read } ] } }
            """);

        var serve = await CliTests.Mcpd("serve", "--config", file);

        Assert.Equal(2, serve.ExitCode);
        Assert.Contains($"mcpd: modbus:tls:certificate: {pki.ServerCertificateFile} (key {other}): The provided key does not match the public key for this certificate.", serve.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", serve.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Config_check_names_a_directory_and_the_environment_variable_that_set_a_bad_value()
    {
        var directory = await CliTests.Mcpd("config", "check", Path.GetTempPath());
        var environment = await ProcessRunner.RunAsync("dotnet", [typeof(Mcpd.Cli.ExitCodes).Assembly.Location, "config", "check", ConfigurationTests.ExampleFile],
            environment: new Dictionary<string, string> { ["MCPD__MODBUS__PORT"] = "abc" });

        Assert.Equal(2, directory.ExitCode);
        Assert.Contains("is a directory, not a configuration file", directory.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(2, environment.ExitCode);
        Assert.Contains("'abc' is not a whole number (set by the environment variable MCPD__MODBUS__PORT)", environment.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mcp_commands_on_a_modbus_http_or_crc_port_say_what_answers_there()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["mcp:crcPort"] = "0" });

        var modbus = await CliTests.Mcpd("call", CliTests.Endpoint(server), "sys.info");
        var http = await CliTests.Mcpd("call", $"127.0.0.1:{server.AdminUri.Port}", "sys.info");
        var crc = await CliTests.Mcpd("call", $"127.0.0.1:{server.McpCrcEndPoint.Port}", "sys.info", "--timeout", "1");

        Assert.Equal(1, modbus.ExitCode);
        Assert.Contains("closed the connection without sending a byte: it may not speak MCP (a Modbus TCP server closes on MCP frames: use mcpd read or write)", modbus.StandardError, StringComparison.Ordinal);
        Assert.Contains("does not speak MCP: this is an HTTP server", http.StandardError, StringComparison.Ordinal);
        Assert.Contains("a CRC-framed port (mcp:crcPort) ignores plain MCP frames; add --crc", crc.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("read|{0}|holding|0")]
    [InlineData("bench|modbus|{0}|-n|5")]
    [InlineData("ping|{0}")]
    public async Task Nothing_listening_is_said_as_such(string arguments)
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        var result = await CliTests.Mcpd(string.Format(System.Globalization.CultureInfo.InvariantCulture, arguments, $"127.0.0.1:{port}").Split('|'));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"mcpd: cannot connect to 127.0.0.1:{port}: nothing listens on that port (is mcpd serve running, with this port?)", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_map_without_the_unit_names_the_units_it_has()
    {
        var result = await CliTests.Mcpd("read", "127.0.0.1:1", "holding", "0", "--map", ConfigurationTests.ExampleFile, "--unit", "9");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("has no device with unit 9 (its units: 1, 2); give --unit.", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_admin_the_cli_says_why_mcpd_refused_read_only_absent_units_and_ranges()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["devices:0:unit"] = "1",
            ["devices:0:registers:0:name"] = "setpoint",
            ["devices:0:registers:0:table"] = "holding",
            ["devices:0:registers:0:address"] = "5",
            ["devices:0:registers:0:readOnly"] = "true",
        });
        var admin = server.AdminUri.ToString();

        var readOnly = await CliTests.Mcpd("write", CliTests.Endpoint(server), "holding", "4", "1", "2", "--admin", admin);
        var absent = await CliTests.Mcpd("read", CliTests.Endpoint(server), "holding", "0", "--unit", "7", "--admin", admin);
        var range = await CliTests.Mcpd("read", CliTests.Endpoint(server), "holding", "9999", "2", "--admin", admin);
        var badAdmin = await CliTests.Mcpd("read", CliTests.Endpoint(server), "holding", "0", "--admin", "localhost:8081");

        Assert.Equal(1, readOnly.ExitCode);
        Assert.Contains("mcpd: the admin API says: read-only in the device's register map: address 5 (setpoint)", readOnly.StandardError, StringComparison.Ordinal);
        Assert.Contains("mcpd: the admin API says: no device has unit 7 (the server's units: 1)", absent.StandardError, StringComparison.Ordinal);
        Assert.Contains("mcpd: the admin API says: the holding table has 10000 addresses", range.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, badAdmin.ExitCode);
        Assert.Contains("--admin: 'localhost:8081' is not an http:// or https:// address", badAdmin.StandardError, StringComparison.Ordinal);
        await using var client = await server.ConnectClientAsync();
        Assert.Equal([0, 0], await client.ReadHoldingRegistersAsync(1, 4, 2));
    }
}
