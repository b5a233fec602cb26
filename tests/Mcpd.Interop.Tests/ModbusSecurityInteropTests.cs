using System.Globalization;
using Mcpd.Server.Connections;
using Mcpd.Server.Security;
using Mcpd.Testing;

namespace Mcpd.Interop.Tests;

/// <summary>
/// The Modbus/TCP Security listener against clients mcpd did not write: pymodbus's TLS client and Python's own
/// <c>ssl</c> module with client certificates carrying the role extension, and <c>openssl s_client</c> for the
/// handshake rules (no client certificate, another CA's, an expired one, TLS 1.1).
/// </summary>
public sealed class ModbusSecurityInteropTests(InteropTools tools, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestPki _pki = new();
    private McpdTestServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await McpdTestServer.StartAsync(_pki.SecureModbusSettings());

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _pki.Dispose();
    }

    [Fact]
    public async Task Pymodbus_over_TLS_reads_as_a_Viewer_and_is_refused_a_write_with_exception_01()
    {
        var (certificate, key) = WriteClient("viewer", "Viewer");

        // pymodbus 3.0: the asynchronous client, since the synchronous one waits in select() for bytes OpenSSL has
        // already read (a response in one TLS record is then cut after its first 8 bytes); and the socket framer, since
        // Modbus/TCP Security carries the MBAP header inside TLS and pymodbus's TLS framer leaves it out.
        var result = await PythonAsync($"""
            import asyncio, ssl, sys
            from pymodbus.client import AsyncModbusTlsClient
            from pymodbus.framer.socket_framer import ModbusSocketFramer

            async def main():
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.load_verify_locations("{_pki.AuthorityFile}")
                context.load_cert_chain("{certificate}", "{key}")
                client = AsyncModbusTlsClient(sys.argv[1], port=int(sys.argv[2]), sslctx=context, server_hostname="localhost",
                                              framer=ModbusSocketFramer, timeout=5, retries=0)
                await client.connect()
                read = await client.read_holding_registers(0, 2, slave=1)
                write = await client.write_register(0, 7, slave=1)
                print(read.registers, write.isError(), getattr(write, "exception_code", None))
                await client.close()

            asyncio.run(main())
            """);

        Assert.Equal("[100, 85] True 1", result.Trim());
    }

    [Fact]
    public async Task Python_ssl_writes_as_an_Operator_inside_its_range()
    {
        var (certificate, key) = WriteClient("alice", "Operator");

        var result = await PythonAsync($"""
            import socket, ssl, sys
            context = ssl.create_default_context(cafile="{_pki.AuthorityFile}")
            context.load_cert_chain("{certificate}", "{key}")
            with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    tls.sendall(bytes.fromhex("000100000006" "01060005002A"))
                    print(tls.recv(260).hex(), tls.version())
            """);

        Assert.StartsWith("00010000000601060005002a TLSv1.", result.Trim(), StringComparison.Ordinal);
        await _server.Logs.WaitForAsync("alice (role Operator) writes unit 1, Holding 5 x1");
    }

    [Theory]
    [InlineData("no client certificate", new string[0])]
    [InlineData("TLS 1.1", new[] { "-tls1_1" })]
    public async Task Openssl_s_client_is_refused_the_handshake(string why, string[] options)
    {
        var endPoint = _server.EndPointOf(ListenerNames.ModbusSecure);

        var result = await ProcessRunner.RunAsync(InteropTools.OpenSsl,
            // -ign_eof: read on after stdin ends, until the server's alert and close (TLS 1.3 checks the client's certificate after the client finished).
            ["s_client", "-connect", $"127.0.0.1:{endPoint.Port}", "-CAfile", _pki.AuthorityFile, "-verify_return_error", "-ign_eof", .. options],
            cancellationToken: TestContext.Current.CancellationToken);
        output.WriteLine($"{why}:\n{result}");

        // An accepted handshake would leave s_client reading until its time runs out.
        Assert.False(result.TimedOut, $"openssl completed a handshake with {why}:\n{result}");
        Assert.NotEqual(0, result.ExitCode);
    }

    [Theory]
    [InlineData("of another CA")]
    [InlineData("that expired")]
    public async Task Openssl_s_client_with_a_client_certificate_that_does_not_pass_is_refused(string which)
    {
        using var stranger = new TestPki();
        var certificate = Path.Combine(_pki.Directory, "mallory.pem");
        var key = Path.Combine(_pki.Directory, "mallory.key");
        DevelopmentCertificates.WritePem(
            which == "that expired"
                ? DevelopmentCertificates.CreateClient(_pki.Authority, "mallory", "Operator", TimeSpan.FromSeconds(-30)) // valid from 60 s to 30 s ago
                : stranger.Client("mallory", "Operator"),
            certificate, key);
        var endPoint = _server.EndPointOf(ListenerNames.ModbusSecure);

        var result = await ProcessRunner.RunAsync(InteropTools.OpenSsl,
            // -ign_eof: read on after stdin ends, until the server's alert and close (TLS 1.2 checks the client's certificate last).
            ["s_client", "-connect", $"127.0.0.1:{endPoint.Port}", "-CAfile", _pki.AuthorityFile, "-cert", certificate, "-key", key, "-tls1_2", "-ign_eof"],
            cancellationToken: TestContext.Current.CancellationToken);
        output.WriteLine(result.ToString());

        Assert.False(result.TimedOut, $"openssl completed a handshake with a client certificate {which}:\n{result}");
        Assert.NotEqual(0, result.ExitCode);
    }

    private (string Certificate, string Key) WriteClient(string name, string role)
    {
        var certificate = Path.Combine(_pki.Directory, $"{name}.pem");
        var key = Path.Combine(_pki.Directory, $"{name}.key");
        DevelopmentCertificates.WritePem(_pki.Client(name, role), certificate, key);
        return (certificate, key);
    }

    private async Task<string> PythonAsync(string script)
    {
        var endPoint = _server.EndPointOf(ListenerNames.ModbusSecure);
        var result = await ProcessRunner.RunAsync(InteropTools.Python, ["-I", "-c", script, "127.0.0.1", endPoint.Port.ToString(CultureInfo.InvariantCulture)],
            cancellationToken: TestContext.Current.CancellationToken);
        output.WriteLine($"pymodbus {tools.PymodbusVersion}\n{result}");
        Assert.True(result.Succeeded, $"the Python client failed:\n{result}");
        return result.StandardOutput;
    }
}
