using System.Security.Cryptography.X509Certificates;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Connections;
using Mcpd.Server.Security;
using Mcpd.Server.Tests.Security;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Sessions;

/// <summary>
/// A session opened over mutual TLS belongs to the certificate's subject as its issuer names it: another certificate,
/// or the same name from another CA the server trusts, cannot resume or use it (docs/sessions.md, "Who may resume").
/// </summary>
public sealed class CertificateOwnerTests : IAsyncLifetime
{
    private static readonly byte[] OpenBody = """{"clientId":"plc-7","token":"plc-7-token"}"""u8.ToArray();
    private readonly TestPki _pki = new();

    /// <summary>A second CA the server also trusts, which may name its clients as it likes.</summary>
    private readonly X509Certificate2 _otherAuthority = DevelopmentCertificates.CreateAuthority("other test CA", TimeSpan.FromDays(1));
    private McpdTestServer _server = null!;

    public async ValueTask InitializeAsync()
    {
        var bothAuthorities = Path.Combine(_pki.Directory, "client-cas.pem");
        await File.WriteAllTextAsync(bothAuthorities, await File.ReadAllTextAsync(_pki.AuthorityFile) + _otherAuthority.ExportCertificatePem() + "\n");
        _server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["mcp:tls:certificate"] = _pki.ServerCertificateFile,
            ["mcp:tls:key"] = _pki.ServerKeyFile,
            ["mcp:tls:clientCa"] = bothAuthorities,
            ["security:roles:Device:0:methods:0"] = "session.*",
            ["security:roles:Device:0:methods:1"] = "sys.*",
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _otherAuthority.Dispose();
        _pki.Dispose();
    }

    [Fact]
    public async Task Only_a_certificate_of_the_same_subject_and_issuer_resumes_or_uses_the_session()
    {
        string sessionId;
        await using (var owner = await ConnectAsync(_pki.Client("alice", "Device")))
        {
            sessionId = SessionIdOf(await owner.CallAsync(1, "session.open", [], OpenBody, McpStatus.Ok));
            await owner.CallAsync(2, "session.set", [new("session", sessionId), new("key", "site")], "hall-3"u8.ToArray(), McpStatus.Ok);
        }

        KeyValuePair<string, string>[] session = [new("session", sessionId)];
        await using (var bob = await ConnectAsync(_pki.Client("bob", "Device")))
        {
            // Bob also knows the client id and token the session was opened with: the certificate decides.
            await bob.CallAsync(1, "session.resume", session, OpenBody, McpStatus.Unauthorized);
            await bob.CallAsync(2, "session.get", [.. session, new("key", "site")], [], McpStatus.Unauthorized);
            await bob.CallAsync(3, "session.close", session, [], McpStatus.Unauthorized);
        }

        await using (var impostor = await ConnectAsync(DevelopmentCertificates.CreateClient(_otherAuthority, "alice", "Device", TimeSpan.FromDays(1))))
        {
            await impostor.CallAsync(1, "session.resume", session, [], McpStatus.Unauthorized);
            await impostor.CallAsync(2, "sys.echo", session, "x"u8.ToArray(), McpStatus.Unauthorized);
        }

        // A renewed certificate (a new key, the same subject from the same CA) is the same client.
        await using var renewed = await ConnectAsync(_pki.Client("alice", "Device"));
        await renewed.CallAsync(1, "session.resume", session, [], McpStatus.Ok);
        Assert.Equal("hall-3"u8.ToArray(), await renewed.CallAsync(2, "session.get", [.. session, new("key", "site")], [], McpStatus.Ok));
        await _server.Logs.WaitForAsync("session.resume refused");
        Assert.Contains(_server.Logs.Lines, line => line.Message.Contains("session.get refused", StringComparison.Ordinal) && line.Message.Contains("bob", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Any_connection_with_a_certificate_of_the_owners_subject_and_issuer_uses_the_session_without_resuming_it()
    {
        var alice = _pki.Client("alice", "Device");
        await using var first = await ConnectAsync(alice);
        await using var second = await ConnectAsync(_pki.Client("alice", "Device"));
        var sessionId = SessionIdOf(await first.CallAsync(1, "session.open", [], """{"clientId":"plc-7"}"""u8.ToArray(), McpStatus.Ok));

        await second.CallAsync(1, "session.set", [new("session", sessionId), new("key", "site")], "hall-3"u8.ToArray(), McpStatus.Ok);

        Assert.Equal("hall-3"u8.ToArray(), await first.CallAsync(2, "session.get", [new("session", sessionId), new("key", "site")], [], McpStatus.Ok));
    }

    private static string SessionIdOf(byte[] openAnswer)
    {
        using var body = System.Text.Json.JsonDocument.Parse(openAnswer);
        return body.RootElement.GetProperty("sessionId").GetString()!;
    }

    private Task<TlsMcpClient> ConnectAsync(X509Certificate2 certificate) =>
        TlsMcpClient.ConnectAsync(_server.EndPointOf(ListenerNames.Mcp), certificate, _pki);
}
