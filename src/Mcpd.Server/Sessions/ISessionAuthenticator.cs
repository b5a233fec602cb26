namespace Mcpd.Server.Sessions;

/// <summary>Decides whether a client may open a session (pluggable: register your own in DI before AddMcpdServer).</summary>
public interface ISessionAuthenticator
{
    /// <summary>True when <paramref name="clientId"/> may open a session with <paramref name="token"/>.</summary>
    ValueTask<bool> AuthenticateAsync(string clientId, string? token, CancellationToken cancellationToken);
}
