using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Mcpd.Client;
using Mcpd.Client.Mcp;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Mcp;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Connections;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Security;

/// <summary>
/// The project's clients over TLS (<see cref="ClientTlsOptions"/>) against the real server: Modbus/TCP Security with
/// roles, MCP over TLS with and without client certificates, reconnects that make a handshake of their own, and each
/// refusal said by the side that refused.
/// </summary>
public sealed class ClientTlsTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task A_Modbus_client_reads_over_Modbus_TCP_Security_and_its_role_decides_what_it_may_write()
    {
        await using var server = await McpdTestServer.StartAsync(_pki.SecureModbusSettings());
        await using var viewer = await ConnectModbusAsync(server, _pki.ClientTls("bob", "Viewer"));
        await using var operatorClient = await ConnectModbusAsync(server, _pki.ClientTls("alice", "Operator"));

        Assert.Equal([100, 85], await viewer.ReadHoldingRegistersAsync(1, 0, 2));
        var refused = await Assert.ThrowsAsync<ModbusException>(() => viewer.WriteSingleRegisterAsync(1, 10, 7));
        await operatorClient.WriteSingleRegisterAsync(1, 10, 7);

        Assert.Equal(ModbusExceptionCode.IllegalFunction, refused.Code);
        Assert.Equal([7], await viewer.ReadHoldingRegistersAsync(1, 10, 1));
        await server.Logs.WaitForAsync("alice (role Operator) writes unit 1, Holding 10 x1");
    }

    [Fact]
    public async Task A_client_certificate_from_another_CA_is_refused_by_the_server_and_the_client_says_so()
    {
        using var stranger = new TestPki("stranger CA");
        await using var server = await McpdTestServer.StartAsync(_pki.SecureModbusSettings());
        var tls = new ClientTlsOptions { TrustedAuthorities = [_pki.Authority], ClientCertificate = stranger.Client("mallory", "Operator") };
        await using var client = await ConnectModbusAsync(server, tls);

        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => client.ReadHoldingRegistersAsync(1, 0, 1));

        Assert.StartsWith($"127.0.0.1:{server.EndPointOf(ListenerNames.ModbusSecure).Port} refused the client certificate CN=mallory (issued by CN=stranger CA)", refused.Message, StringComparison.Ordinal);
        Assert.False(client.IsOpen);
    }

    [Fact]
    public async Task A_client_without_a_certificate_is_told_that_the_server_requires_one()
    {
        await using var server = await McpdTestServer.StartAsync(_pki.McpTlsSettings(clientCertificates: true));
        await using var client = await ConnectMcpAsync(server, _pki.ClientTls());

        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => client.CallAsync("sys.echo"));

        Assert.Contains("requires a client certificate and none was given", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_MCP_client_calls_over_TLS_without_a_client_certificate()
    {
        await using var server = await McpdTestServer.StartAsync(_pki.McpTlsSettings(clientCertificates: false));
        await using var client = await ConnectMcpAsync(server, _pki.ClientTls());

        var echo = await client.CallAsync("sys.echo", "over TLS"u8.ToArray());

        Assert.Equal((McpStatus.Ok, "over TLS"), (echo.Status, echo.BodyText));
    }

    [Fact]
    public async Task An_MCP_client_with_a_certificate_is_allowed_what_its_role_allows()
    {
        await using var server = await McpdTestServer.StartAsync(_pki.McpTlsSettings(clientCertificates: true));
        await using var viewer = await ConnectMcpAsync(server, _pki.ClientTls("bob", "Viewer"));
        await using var operatorClient = await ConnectMcpAsync(server, _pki.ClientTls("alice", "Operator"));

        Assert.Equal(McpStatus.Ok, (await viewer.CallAsync("sys.echo")).Status);
        Assert.Equal(McpStatus.Forbidden, (await operatorClient.CallAsync("sys.echo")).Status);
    }

    [Fact]
    public async Task A_reconnect_makes_a_handshake_of_its_own_with_the_same_checks()
    {
        var first = await McpdTestServer.StartAsync(_pki.McpTlsSettings(clientCertificates: true));
        var port = first.McpEndPoint.Port;
        var options = new McpClientOptions
        {
            RequestTimeout = TimeSpan.FromSeconds(15),
            Reconnect = new ReconnectPolicy(TimeSpan.FromMilliseconds(50), 2, TimeSpan.FromMilliseconds(400), 50),
            Tls = _pki.ClientTls("alice", "Operator"),
        };
        await using var client = await McpClient.ConnectAsync("127.0.0.1", port, options);
        var reconnected = new TaskCompletionSource();
        client.Reconnected += (_, _) => reconnected.TrySetResult();
        Assert.Equal(McpStatus.Forbidden, (await client.CallAsync("sys.echo")).Status);

        await first.DisposeAsync();
        await using var second = await McpdTestServer.StartAsync(new Dictionary<string, string?>(_pki.McpTlsSettings(clientCertificates: true)) { ["mcp:port"] = $"{port}" });
        await reconnected.Task.WaitAsync(Patience);

        // Only a TLS connection that presented alice's certificate gets an answer, and hers: FORBIDDEN to an Operator.
        var again = await client.CallAsync("sys.echo");
        Assert.Equal(McpStatus.Forbidden, again.Status);
        Assert.Contains("role Operator may not call sys.echo", McpErrorBody.TryReadMessage(again.Body, out var message) ? message : "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reconnect_to_a_server_this_client_does_not_trust_is_refused_until_the_client_gives_up()
    {
        using var impostor = new TestPki("impostor CA");
        var first = await McpdTestServer.StartAsync(_pki.McpTlsSettings(clientCertificates: false));
        var port = first.McpEndPoint.Port;
        var options = new McpClientOptions
        {
            // About 7 s of attempts: refused while no server listens, then refused by this client once the impostor does.
            Reconnect = new ReconnectPolicy(TimeSpan.FromMilliseconds(100), 1, TimeSpan.FromMilliseconds(100), 100),
            Tls = _pki.ClientTls(),
        };
        await using var client = await McpClient.ConnectAsync("127.0.0.1", port, options);
        var lost = new TaskCompletionSource<Exception>();
        client.ConnectionLost += (_, reason) => lost.TrySetResult(reason);

        await first.DisposeAsync();
        await using var second = await McpdTestServer.StartAsync(new Dictionary<string, string?>(impostor.McpTlsSettings(clientCertificates: false)) { ["mcp:port"] = $"{port}" });

        var reason = await lost.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.IsType<AuthenticationException>(reason.InnerException);
        Assert.Contains("This client refused the server", reason.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_chains_to_another_CA_is_refused_naming_the_CA_the_client_trusts()
    {
        using var impostor = new TestPki("impostor CA");
        await using var server = await McpdTestServer.StartAsync(impostor.McpTlsSettings(clientCertificates: false));

        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => ConnectMcpAsync(server, _pki.ClientTls()));

        Assert.Equal(
            $"This client refused the server 127.0.0.1:{server.McpEndPoint.Port}: its certificate CN=localhost (issued by CN=impostor CA) "
            + "does not chain to the trusted CA CN=mcpd test CA.",
            refused.Message);
    }

    [Fact]
    public async Task Without_a_CA_bundle_the_system_roots_decide_and_a_development_CA_is_not_among_them()
    {
        await using var server = await McpdTestServer.StartAsync(_pki.McpTlsSettings(clientCertificates: false));

        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => ConnectMcpAsync(server, new ClientTlsOptions()));

        Assert.Contains("does not chain to any of the system's trusted roots", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_whose_certificate_is_for_other_names_is_refused()
    {
        await using var server = await McpdTestServer.StartAsync(_pki.McpTlsSettings(clientCertificates: false));
        var tls = new ClientTlsOptions { TrustedAuthorities = [_pki.Authority], TargetHost = "plc.example" };

        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => ConnectMcpAsync(server, tls));

        Assert.EndsWith("(issued by CN=mcpd test CA) is for localhost, 127.0.0.1, ::1, not plc.example.", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TLS_to_a_plain_port_fails_in_the_handshake_with_a_hint()
    {
        await using var server = await McpdTestServer.StartAsync();

        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => ConnectModbusAsync(server, _pki.ClientTls(), server.ModbusEndPoint));

        Assert.Contains("closed the connection during the TLS handshake: it may not speak TLS on this port", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_silent_in_the_handshake_is_given_up_within_the_connect_timeout()
    {
        using var silent = new Socket(SocketType.Stream, ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        silent.Listen();
        var options = new ModbusClientOptions { ConnectTimeout = TimeSpan.FromMilliseconds(300), Tls = _pki.ClientTls() };
        var port = ((IPEndPoint)silent.LocalEndPoint!).Port;

        var started = TimeProvider.System.GetTimestamp();
        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => ModbusTcpClient.ConnectAsync("127.0.0.1", port, options));

        Assert.InRange(TimeProvider.System.GetElapsedTime(started), TimeSpan.FromMilliseconds(250), Patience);
        Assert.StartsWith($"No TLS handshake with 127.0.0.1:{port} within 00:00:00.3000000", timeout.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromFiles_reads_what_mcpd_cert_writes_and_names_a_file_it_cannot_use()
    {
        var (alice, aliceKey) = _pki.WriteClient("alice", "Operator");
        var (_, otherKey) = _pki.WriteClient("bob", "Viewer");

        var tls = ClientTlsOptions.FromFiles(_pki.AuthorityFile, alice, aliceKey);

        Assert.Equal("CN=alice", tls.ClientCertificate!.Subject);
        Assert.True(tls.ClientCertificate.HasPrivateKey);
        Assert.Equal(_pki.Authority.Thumbprint, Assert.Single(tls.TrustedAuthorities!).Thumbprint);
        var missing = Assert.Throws<IOException>(() => ClientTlsOptions.FromFiles(_pki.AuthorityFile, Path.Combine(_pki.Directory, "carol.pem")));
        Assert.Equal($"{Path.Combine(_pki.Directory, "carol.pem")}: no such file", missing.Message);
        var notTheKey = Assert.Throws<CryptographicException>(() => ClientTlsOptions.FromFiles(null, alice, otherKey));
        Assert.StartsWith($"{otherKey}: ", notTheKey.Message, StringComparison.Ordinal);
        var noCertificate = Assert.Throws<CryptographicException>(() => ClientTlsOptions.FromFiles(aliceKey));
        Assert.Equal($"{aliceKey}: no certificate in it (PEM, -----BEGIN CERTIFICATE-----).", noCertificate.Message);
    }

    private static Task<ModbusTcpClient> ConnectModbusAsync(McpdTestServer server, ClientTlsOptions tls, IPEndPoint? endPoint = null)
    {
        var target = endPoint ?? server.EndPointOf(ListenerNames.ModbusSecure);
        return ModbusTcpClient.ConnectAsync("127.0.0.1", target.Port, new ModbusClientOptions { Tls = tls });
    }

    private static Task<McpClient> ConnectMcpAsync(McpdTestServer server, ClientTlsOptions tls) =>
        McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, new McpClientOptions { Tls = tls });
}
