using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Mcpd.Server.Connections;
using Mcpd.Server.Security;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Mcpd.Server.Tests.Security;

/// <summary>
/// The Modbus/TCP Security listener over real TLS: client certificates made here with the role extension, a .NET
/// SslStream as the client, the role matrix of issue 11, handshakes refused, certificates rotated under live clients.
/// </summary>
public sealed class ModbusSecurityTests : IAsyncLifetime
{
    private readonly TestPki _pki = new();
    private McpdTestServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await McpdTestServer.StartAsync(_pki.SecureModbusSettings());

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _pki.Dispose();
    }

    [Theory]
    [InlineData("Viewer", "0103000A0001", "010302")]        // read holding 10: allowed
    [InlineData("Viewer", "0106000A0007", "018601")]        // write: exception 01
    [InlineData("Operator", "0106000A0007", "0106000A0007")] // write holding 10: inside 0-99
    [InlineData("Operator", "010600640007", "018601")]      // write holding 100: outside
    [InlineData("Operator", "0105000AFF00", "0105000AFF00")] // write coil 10
    [InlineData("Operator", "0206000A0007", "028601")]      // unit 2: not in the rule's units, refused before the unit is looked up
    [InlineData(null, "0103000A0001", "018301")]            // a certificate without the role extension: no role
    public async Task Each_role_is_allowed_what_its_rules_allow_and_refused_the_rest_with_exception_01(string? role, string requestPdu, string answerStart)
    {
        await using var client = await ConnectAsync(_pki.Client(role ?? "none", role));

        var answer = await client.RequestAsync(requestPdu);

        Assert.StartsWith(answerStart, answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_allowed_write_is_audited_and_a_refusal_is_logged_with_the_subject_and_role()
    {
        await using (var operatorClient = await ConnectAsync(_pki.Client("alice", "Operator")))
        {
            await operatorClient.RequestAsync("0106000A0007");
        }

        await using (var viewer = await ConnectAsync(_pki.Client("bob", "Viewer")))
        {
            await viewer.RequestAsync("0106000A0007");
        }

        var audit = await _server.Logs.WaitForAsync("alice (role Operator) writes unit 1, Holding 10 x1");
        Assert.Equal(SecurityLog.AuditCategory, audit.Category);
        await _server.Logs.WaitForAsync("refused function 0x06 on unit 1 to bob, role Viewer");
    }

    [Fact]
    public async Task A_client_without_a_certificate_or_with_one_of_another_CA_does_not_get_through_the_handshake()
    {
        using var stranger = new TestPki();

        await Assert.ThrowsAnyAsync<Exception>(async () => await (await ConnectAsync(null)).RequestAsync("0103000A0001"));
        await Assert.ThrowsAnyAsync<Exception>(async () => await (await ConnectAsync(stranger.Client("mallory", "Operator"))).RequestAsync("0103000A0001"));
        await _server.Logs.WaitForAsync("the handshake with");
    }

    [Fact]
    public async Task A_rotated_certificate_is_used_by_new_handshakes_while_connected_clients_go_on()
    {
        await using var connected = await ConnectAsync(_pki.Client("alice", "Operator"));
        var before = connected.ServerCertificate.SerialNumber;

        var rotated = _pki.RotateServerCertificate();
        var tls = _server.Services.GetRequiredService<TlsListeners>()[ListenerNames.ModbusSecure];
        await Eventually.HoldsAsync(() => tls.SerialNumber == rotated, TimeSpan.FromSeconds(10));

        await using var fresh = await ConnectAsync(_pki.Client("alice", "Operator"));
        Assert.Equal(rotated, fresh.ServerCertificate.SerialNumber);
        Assert.NotEqual(before, rotated);
        Assert.StartsWith("010302", await connected.RequestAsync("0103000A0001"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Certificate_files_replaced_by_something_unusable_are_logged_and_the_running_certificate_stays()
    {
        var tls = _server.Services.GetRequiredService<TlsListeners>()[ListenerNames.ModbusSecure];
        var running = tls.SerialNumber;

        await File.WriteAllTextAsync(_pki.ServerCertificateFile, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", TestContext.Current.CancellationToken);

        await _server.Logs.WaitForAsync("the changed certificate files cannot be used");
        await using var client = await ConnectAsync(_pki.Client("alice", "Operator"));
        Assert.Equal(running, client.ServerCertificate.SerialNumber);
        Assert.StartsWith("010302", await client.RequestAsync("0103000A0001"), StringComparison.Ordinal);
    }

    private Task<SecureModbusClient> ConnectAsync(X509Certificate2? certificate) =>
        SecureModbusClient.ConnectAsync(_server.EndPointOf(ListenerNames.ModbusSecure), certificate, _pki);
}

/// <summary>Handshake limits, on a server of their own.</summary>
public sealed class TlsHandshakeLimitTests
{
    [Fact]
    public async Task Connections_beyond_the_handshakes_in_progress_are_closed_and_a_silent_handshake_times_out()
    {
        using var pki = new TestPki();
        var settings = pki.SecureModbusSettings();
        settings["modbus:tls:maxConcurrentHandshakes"] = "2";
        settings["modbus:tls:handshakeTimeout"] = "1s";
        await using var server = await McpdTestServer.StartAsync(settings);
        var endPoint = server.EndPointOf(ListenerNames.ModbusSecure);

        using var first = await server.ConnectRawAsync(endPoint);
        using var second = await server.ConnectRawAsync(endPoint);
        await Task.Delay(200);
        using var third = await server.ConnectRawAsync(endPoint);

        Assert.True(await third.IsClosedByServerAsync(TimeSpan.FromSeconds(2)));
        await server.Logs.WaitForAsync("handshakes are in progress");
        Assert.True(await first.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));
    }
}

/// <summary>A client of the Modbus/TCP Security listener: TLS with an optional client certificate, then MBAP frames.</summary>
internal sealed class SecureModbusClient(SslStream tls) : IAsyncDisposable
{
    private readonly SslStream _tls = tls;
    private ushort _transaction;

    public X509Certificate2 ServerCertificate => (X509Certificate2)_tls.RemoteCertificate!;

    public static async Task<SecureModbusClient> ConnectAsync(IPEndPoint endPoint, X509Certificate2? certificate, TestPki pki) =>
        new(await pki.ConnectAsync(endPoint, certificate));

    /// <summary>Sends "unit + PDU" (hex) in an MBAP frame and returns the answer's "unit + PDU" (hex).</summary>
    public async Task<string> RequestAsync(string unitAndPdu)
    {
        var body = Convert.FromHexString(unitAndPdu);
        var frame = new byte[6 + body.Length];
        (frame[0], frame[1]) = ((byte)(++_transaction >> 8), (byte)_transaction);
        (frame[4], frame[5]) = ((byte)(body.Length >> 8), (byte)body.Length);
        body.CopyTo(frame, 6);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _tls.WriteAsync(frame, timeout.Token);
        var header = new byte[6];
        await _tls.ReadExactlyAsync(header, timeout.Token);
        var answer = new byte[(header[4] << 8) | header[5]];
        await _tls.ReadExactlyAsync(answer, timeout.Token);
        return Convert.ToHexString(answer);
    }

    public ValueTask DisposeAsync() => _tls.DisposeAsync();
}
