using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Sessions;

/// <summary>
/// Tokens from config (<c>sessions:tokens</c>, client id to token). With none configured every client may open a
/// session; with some, only a client presenting its own token. Compared in constant time.
/// </summary>
internal sealed class StaticTokenAuthenticator(IOptionsMonitor<SessionsOptions> options) : ISessionAuthenticator
{
    public ValueTask<bool> AuthenticateAsync(string clientId, string? token, CancellationToken cancellationToken)
    {
        var tokens = options.CurrentValue.Tokens;
        if (tokens.Count == 0)
        {
            return ValueTask.FromResult(true);
        }

        return ValueTask.FromResult(token is not null && tokens.TryGetValue(clientId, out var expected)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(expected)));
    }
}
