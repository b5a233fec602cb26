using Mcpd.Server.Connections;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Cli;

/// <summary>
/// The client commands over TLS as a user runs them (--tls, --ca, --cert, --key), against a server with a
/// Modbus/TCP Security listener and TLS on MCP: what works, and each refusal in one line with its exit code.
/// </summary>
public sealed class CliTlsTests : IAsyncLifetime
{
    private readonly TestPki _pki = new();
    private McpdTestServer _server = null!;

    public async ValueTask InitializeAsync() =>
        _server = await McpdTestServer.StartAsync(new Dictionary<string, string?>(_pki.SecureModbusSettings().Concat(_pki.McpTlsSettings(clientCertificates: false))));

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _pki.Dispose();
    }

    private string SecureModbus => $"127.0.0.1:{_server.EndPointOf(ListenerNames.ModbusSecure).Port}";

    private string Mcp => $"127.0.0.1:{_server.McpEndPoint.Port}";

    [Fact]
    public async Task Read_and_write_over_Modbus_TCP_Security_with_a_role_and_a_refusal_printed_as_any_Modbus_exception()
    {
        var (alice, aliceKey) = _pki.WriteClient("alice", "Operator");
        var (bob, bobKey) = _pki.WriteClient("bob", "Viewer");

        var write = await CliTests.Mcpd("write", SecureModbus, "holding", "10", "42", "--ca", _pki.AuthorityFile, "--cert", alice, "--key", aliceKey);
        var read = await CliTests.Mcpd("read", SecureModbus, "holding", "10", "--ca", _pki.AuthorityFile, "--cert", bob, "--key", bobKey);
        var refused = await CliTests.Mcpd("write", SecureModbus, "holding", "10", "7", "--ca", _pki.AuthorityFile, "--cert", bob, "--key", bobKey);

        Assert.True(write.Succeeded, write.ToString());
        Assert.Contains("wrote 1 holding register at 10..10 of unit 1", write.StandardOutput, StringComparison.Ordinal);
        Assert.True(read.Succeeded, read.ToString());
        Assert.Matches(@"10\s+-\s+42\s+0x002A", read.StandardOutput);
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal(
            $"mcpd: {SecureModbus} refused: The server answered function 0x06 with exception 01, illegal function: "
            + "the server does not allow this function code (not implemented, not allowed in its state, or not for this client).",
            refused.StandardError.Trim());
    }

    [Fact]
    public async Task Call_over_MCP_TLS_trusts_the_given_CA_and_bench_speaks_TLS_on_every_connection()
    {
        var call = await CliTests.Mcpd("call", Mcp, "sys.echo", "--body", "over TLS", "--ca", _pki.AuthorityFile);
        var (alice, aliceKey) = _pki.WriteClient("alice", "Operator");
        var bench = await CliTests.Mcpd("bench", "modbus", SecureModbus, "-c", "4", "-d", "2", "-n", "200", "-q", "--ca", _pki.AuthorityFile, "--cert", alice, "--key", aliceKey);
        var benchMcp = await CliTests.Mcpd("bench", "mcp", Mcp, "-c", "2", "-n", "50", "-q", "--ca", _pki.AuthorityFile);

        Assert.True(call.Succeeded, call.ToString());
        Assert.Contains("status: 0 OK", call.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("over TLS", call.StandardOutput, StringComparison.Ordinal);
        Assert.True(bench.Succeeded, bench.ToString());
        Assert.Matches(@"requests=200 rps=\d+ .* errors=0 conns=4 depth=2", bench.StandardOutput);
        Assert.True(benchMcp.Succeeded, benchMcp.ToString());
        Assert.Matches(@"requests=50 rps=\d+ .* errors=0 conns=2 depth=1", benchMcp.StandardOutput);
    }

    [Fact]
    public async Task A_refused_handshake_is_one_line_saying_which_side_refused_and_why()
    {
        using var other = new TestPki();
        var (mallory, malloryKey) = other.WriteClient("mallory", "Operator");

        var untrusted = await CliTests.Mcpd("call", Mcp, "sys.echo", "--ca", other.AuthorityFile);
        var systemRoots = await CliTests.Mcpd("ping", Mcp, "-c", "1", "--tls");
        var refusedCertificate = await CliTests.Mcpd("read", SecureModbus, "holding", "0", "--ca", _pki.AuthorityFile, "--cert", mallory, "--key", malloryKey);
        var noCertificate = await CliTests.Mcpd("bench", "modbus", SecureModbus, "-c", "1", "-n", "1", "-q", "--ca", _pki.AuthorityFile);

        Assert.Equal(
            $"mcpd: This client refused the server {Mcp}: its certificate CN=localhost (issued by CN=mcpd test CA) does not chain to the trusted CA "
            + "CN=mcpd test CA (another CA of the same name issued it: was the CA made anew?).",
            untrusted.StandardError.Trim());
        Assert.Contains("does not chain to any of the system's trusted roots", systemRoots.StandardError, StringComparison.Ordinal);
        Assert.StartsWith($"mcpd: {SecureModbus} refused the client certificate CN=mallory (issued by CN=mcpd test CA)", refusedCertificate.StandardError, StringComparison.Ordinal);
        Assert.Contains($"first error: {SecureModbus} requires a client certificate and none was given", noCertificate.StandardError, StringComparison.Ordinal);
        foreach (var result in new[] { untrusted, systemRoots, refusedCertificate, noCertificate })
        {
            Assert.Equal(1, result.ExitCode);
            Assert.DoesNotContain("   at ", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        }

        Assert.Single(untrusted.StandardError.Trim().Split('\n'));
        Assert.Single(refusedCertificate.StandardError.Trim().Split('\n'));
    }

    [Fact]
    public async Task A_certificate_file_that_is_missing_or_unusable_is_refused_before_connecting_with_exit_code_2()
    {
        var (alice, aliceKey) = _pki.WriteClient("alice", "Operator");
        var missing = Path.Combine(_pki.Directory, "carol.pem");

        var noFile = await CliTests.Mcpd("read", SecureModbus, "holding", "0", "--ca", _pki.AuthorityFile, "--cert", missing, "--key", aliceKey);
        var keyAsCertificate = await CliTests.Mcpd("call", Mcp, "sys.echo", "--ca", aliceKey);
        var directory = await CliTests.Mcpd("write", SecureModbus, "holding", "0", "1", "--ca", _pki.Directory, "--cert", alice);
        var keyAlone = await CliTests.Mcpd("ping", Mcp, "--key", aliceKey);

        Assert.Equal($"mcpd read: {missing}: no such file", FirstLine(noFile));
        Assert.Equal($"mcpd call: {aliceKey}: no certificate in it (PEM, -----BEGIN CERTIFICATE-----)", FirstLine(keyAsCertificate));
        Assert.StartsWith($"mcpd write: {_pki.Directory}: ", FirstLine(directory), StringComparison.Ordinal);
        Assert.Equal("mcpd ping: --key: give the certificate it belongs to with --cert", FirstLine(keyAlone));
        foreach (var result in new[] { noFile, keyAsCertificate, directory, keyAlone })
        {
            Assert.Equal(2, result.ExitCode);
            Assert.Contains("usage: mcpd ", result.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        }
    }

    private static string FirstLine(ProcessResult result) => result.StandardError.Split('\n')[0];
}
