using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Connections;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Security;

/// <summary>
/// MCP over mutual TLS: the client certificate's role decides which methods it may call (FORBIDDEN otherwise) and,
/// inside <c>modbus.pdu</c>, which registers it may read or write (exception 01 otherwise, as over Modbus/TCP Security).
/// </summary>
public sealed class McpSecurityTests : IAsyncLifetime
{
    private static readonly KeyValuePair<string, string>[] UnitOne = [new("unit", "1")];
    private readonly TestPki _pki = new();
    private McpdTestServer _server = null!;

    public async ValueTask InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["mcp:tls:certificate"] = _pki.ServerCertificateFile,
            ["mcp:tls:key"] = _pki.ServerKeyFile,
            ["mcp:tls:clientCa"] = _pki.AuthorityFile,
            ["security:roles:Viewer:0:access"] = "read",
            ["security:roles:Viewer:1:methods:0"] = "sys.*",
            ["security:roles:Viewer:1:methods:1"] = "modbus.pdu",
            ["security:roles:Operator:0:access"] = "write",
            ["security:roles:Operator:0:addresses"] = "0-99",
            ["security:roles:Operator:1:methods:0"] = "modbus.pdu",
        };
        _server = await McpdTestServer.StartAsync(settings);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _pki.Dispose();
    }

    [Fact]
    public async Task A_role_calls_the_methods_its_rules_name_and_is_answered_FORBIDDEN_for_the_others()
    {
        await using var viewer = await ConnectAsync(_pki.Client("bob", "Viewer"));

        Assert.Equal("hi"u8.ToArray(), await viewer.CallAsync(1, "sys.echo", [], "hi"u8.ToArray(), McpStatus.Ok));
        var refused = await viewer.CallAsync(2, "session.open", [], [], McpStatus.Forbidden);
        Assert.Contains("role Viewer may not call session.open", System.Text.Encoding.UTF8.GetString(refused), StringComparison.Ordinal);
        await _server.Logs.WaitForAsync("refused method session.open to bob, role Viewer");
    }

    [Theory]
    [InlineData("Viewer", "0300000001", "0302")]  // read: allowed by the read rule
    [InlineData("Viewer", "0600050007", "8601")]  // write: no write rule
    [InlineData("Operator", "0600050007", "0600050007")] // write holding 5: inside 0-99
    [InlineData("Operator", "0600640007", "8601")] // write holding 100: outside
    [InlineData("Operator", "0300000001", "8301")] // read: Operator here only writes
    public async Task Modbus_pdu_is_decided_by_the_register_rules_and_refused_with_exception_01(string role, string pdu, string answerStart)
    {
        await using var client = await ConnectAsync(_pki.Client("alice", role));

        var answer = await client.CallAsync(1, "modbus.pdu", UnitOne, Convert.FromHexString(pdu), McpStatus.Ok);

        Assert.StartsWith(answerStart, Convert.ToHexString(answer), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_certificate_without_a_role_is_allowed_nothing()
    {
        await using var client = await ConnectAsync(_pki.Client("anonymous", null));

        await client.CallAsync(1, "sys.echo", [], [], McpStatus.Forbidden);
    }

    private Task<TlsMcpClient> ConnectAsync(X509Certificate2 certificate) =>
        TlsMcpClient.ConnectAsync(_server.EndPointOf(ListenerNames.Mcp), certificate, _pki);
}

/// <summary>Raw MCP frames over TLS: a request written with <see cref="McpPayload"/>, the response read and parsed.</summary>
internal sealed class TlsMcpClient(SslStream tls) : IAsyncDisposable
{
    private readonly SslStream _tls = tls;

    public static async Task<TlsMcpClient> ConnectAsync(IPEndPoint endPoint, X509Certificate2? certificate, TestPki pki) =>
        new(await pki.ConnectAsync(endPoint, certificate));

    /// <summary>Calls <paramref name="method"/> and returns the response body, asserting the response's id and <paramref name="expected"/> status.</summary>
    public async Task<byte[]> CallAsync(uint id, string method, KeyValuePair<string, string>[] headers, byte[] body, McpStatus expected)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var request = new ArrayBufferWriter<byte>();
        McpPayload.WriteRequest(request, id, McpRequestFlags.None, method, headers, body);
        await _tls.WriteAsync(request.WrittenMemory, timeout.Token);
        var headerBytes = new byte[McpFrameHeader.Length];
        await _tls.ReadExactlyAsync(headerBytes, timeout.Token);
        var header = McpFrameHeader.Read(headerBytes);
        var payload = new byte[header.PayloadLength];
        await _tls.ReadExactlyAsync(payload, timeout.Token);
        Assert.Equal(McpFrameType.Response, (McpFrameType)header.Type);
        Assert.Equal(McpParseStatus.Ok, McpPayload.ParseResponse(new ReadOnlySequence<byte>(payload), out var responseId, out var status, out _, out var responseBody, out _));
        Assert.Equal((id, expected), (responseId, status));
        return responseBody.ToArray();
    }

    public ValueTask DisposeAsync() => _tls.DisposeAsync();
}
