using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Mcpd.Server.Admin;

/// <summary>
/// The tokens of <see cref="AdminOptions.Tokens"/>, their hashes decoded once per configuration. A presented token is
/// hashed and compared with every configured hash in constant time, so neither the time taken nor an early exit tells
/// how much of a guess was right.
/// </summary>
internal sealed class AdminTokens
{
    /// <summary>Bytes of a token made by <see cref="Generate"/>: 256 bits, beyond any guessing.</summary>
    public const int GeneratedBytes = 32;

    private readonly (string Name, byte[] Hash, string Role)[] _tokens;

    private AdminTokens((string Name, byte[] Hash, string Role)[] tokens) => _tokens = tokens;

    /// <summary>False when no token is configured.</summary>
    public bool Any => _tokens.Length > 0;

    /// <summary>The tokens of <paramref name="options"/>, which the configuration check has passed (every hash is 64 hex digits).</summary>
    public static AdminTokens From(AdminOptions options) =>
        new([.. options.Tokens.Select(token => (token.Name, Convert.FromHexString(token.Sha256), token.Role))]);

    /// <summary>The name and role of the configured token that <paramref name="token"/> is, or false.</summary>
    public bool TryFind(ReadOnlySpan<char> token, out string name, out string role)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        HashOf(token, hash);
        (name, role) = ("", "");
        var found = false;
        foreach (var candidate in _tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, candidate.Hash))
            {
                (name, role, found) = (candidate.Name, candidate.Role, true);
            }
        }

        return found;
    }

    /// <summary>The lowercase hex SHA-256 of <paramref name="token"/>'s UTF-8 bytes: what <c>admin:tokens:N:sha256</c> holds.</summary>
    public static string Hash(ReadOnlySpan<char> token)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        HashOf(token, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>A new token: <see cref="GeneratedBytes"/> random bytes in base64url (RFC 4648 section 5), a valid RFC 6750 b64token.</summary>
    public static string Generate() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(GeneratedBytes));

    private static void HashOf(ReadOnlySpan<char> token, Span<byte> hash)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(token)];
        Encoding.UTF8.GetBytes(token, bytes);
        SHA256.HashData(bytes, hash);
        CryptographicOperations.ZeroMemory(bytes);
    }
}
