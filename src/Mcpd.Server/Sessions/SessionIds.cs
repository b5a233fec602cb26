using System.Buffers.Text;
using System.Security.Cryptography;

namespace Mcpd.Server.Sessions;

/// <summary>Session ids: 128 bits from the OS's cryptographic generator, URL-safe base64 without padding (22 characters).</summary>
public static class SessionIds
{
    /// <summary>Length of an id.</summary>
    public const int Length = 22;

    /// <summary>
    /// The id as logs show it: its first 6 characters. An id is a bearer credential (whoever knows it may resume the
    /// session), so logs, which more people read, never carry it whole.
    /// </summary>
    public static string Redact(string id) => id.Length > 6 ? $"{id[..6]}…" : id;

    /// <summary>A new, unguessable id.</summary>
    public static string New()
    {
        Span<byte> bits = stackalloc byte[16];
        RandomNumberGenerator.Fill(bits);
        return Base64Url.EncodeToString(bits);
    }
}
