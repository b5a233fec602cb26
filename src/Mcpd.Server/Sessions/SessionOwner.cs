using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Mcpd.Server.Security;

namespace Mcpd.Server.Sessions;

/// <summary>
/// What proves who opened a session, kept with it so that only that client may resume or use it (docs/sessions.md,
/// "Who may resume"): the certificate principal of a client that opened it over mutual TLS, else a salted hash of the
/// client id and token of a <c>session.open</c> that carried a token. A session opened with neither has no owner: its
/// id alone (128 random bits) is the bearer secret. The token itself is never kept.
/// </summary>
/// <remarks>
/// As bytes (<see cref="Bytes"/>, what the stores keep), a kind byte, then for a certificate SHA-256 of its subject and
/// issuer (the distinguished names as .NET writes them, so a renewal that encodes the same names in other string
/// types is the same subject), for a token a 16-byte salt and HMAC-SHA-256 keyed by the salt over the client id and
/// token. Bytes of any other shape (a damaged record, a kind a later mcpd adds) make an owner that no proof matches:
/// such a session is nobody's to resume, never everybody's.
/// </remarks>
public sealed class SessionOwner
{
    private const byte CertificateKind = (byte)'c';
    private const byte TokenKind = (byte)'t';
    private const int SaltLength = 16;
    private const int CertificateLength = 1 + SHA256.HashSizeInBytes;
    private const int TokenLength = 1 + SaltLength + HMACSHA256.HashSizeInBytes;

    /// <summary>
    /// Estimated bytes of an owner in memory besides its proof (.NET 10 x64): this object (24), its array's header (24)
    /// and the array's padding to 8 bytes (measured: 88 bytes for a certificate's 33, 104 for a token's 49).
    /// </summary>
    private const int ObjectBytes = 56;

    private readonly byte[] _bytes;

    private SessionOwner(byte[] bytes) => _bytes = bytes;

    /// <summary>The kind byte and the proof, as the stores keep them.</summary>
    public ReadOnlyMemory<byte> Bytes => _bytes;

    /// <summary>True when this owner is a token's hash: a caller proves it with a token, which must also still be valid.</summary>
    public bool IsToken => _bytes is [TokenKind, ..];

    /// <summary>The estimated bytes this owner holds in memory, for a store's accounting.</summary>
    public int EstimatedBytes => ObjectBytes + _bytes.Length;

    /// <summary>
    /// The owner of a session opened by a client with <paramref name="identity"/> (its connection's certificate, if
    /// any) and <paramref name="clientId"/> and <paramref name="token"/> (from its <c>session.open</c>): the certificate
    /// when there is one, else the token when it is not empty, else none (null).
    /// </summary>
    public static SessionOwner? Of(ClientIdentity? identity, string clientId, string? token)
    {
        ArgumentNullException.ThrowIfNull(clientId);
        if (identity is { Subject: { } subject, Issuer: { } issuer })
        {
            var bytes = new byte[CertificateLength];
            bytes[0] = CertificateKind;
            CertificateDigest(subject, issuer, bytes.AsSpan(1));
            return new SessionOwner(bytes);
        }

        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        var salted = new byte[TokenLength];
        salted[0] = TokenKind;
        RandomNumberGenerator.Fill(salted.AsSpan(1, SaltLength));
        TokenDigest(salted.AsSpan(1, SaltLength), clientId, token, salted.AsSpan(1 + SaltLength));
        return new SessionOwner(salted);
    }

    /// <summary>An owner as a store kept it (<see cref="Bytes"/>); bytes of another shape make an owner nothing proves.</summary>
    public static SessionOwner FromBytes(ReadOnlySpan<byte> bytes) => new(bytes.ToArray());

    /// <summary>
    /// True when a caller with <paramref name="identity"/> (its connection's certificate, if any) and the
    /// <paramref name="clientId"/> and <paramref name="token"/> it presented is this owner: a certificate owner needs a
    /// certificate with the same subject and issuer, a token owner the same client id and token. Compared in constant time.
    /// </summary>
    public bool IsProvenBy(ClientIdentity? identity, string? clientId, string? token)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        switch (_bytes)
        {
            case [CertificateKind, ..] when _bytes.Length == CertificateLength && identity is { Subject: { } subject, Issuer: { } issuer }:
                CertificateDigest(subject, issuer, digest);
                return CryptographicOperations.FixedTimeEquals(digest, _bytes.AsSpan(1));
            case [TokenKind, ..] when _bytes.Length == TokenLength && clientId is not null && !string.IsNullOrEmpty(token):
                TokenDigest(_bytes.AsSpan(1, SaltLength), clientId, token, digest);
                return CryptographicOperations.FixedTimeEquals(digest, _bytes.AsSpan(1 + SaltLength));
            default:
                return false;
        }
    }

    /// <summary>SHA-256 of the subject's UTF-8 length (4 bytes, big-endian), the subject and the issuer: no two pairs run together.</summary>
    private static void CertificateDigest(string subject, string issuer, Span<byte> digest) =>
        SHA256.HashData(LengthPrefixed(subject, issuer), digest);

    /// <summary>HMAC-SHA-256 keyed by <paramref name="salt"/> over the client id's UTF-8 length (4 bytes, big-endian), the client id and the token.</summary>
    private static void TokenDigest(ReadOnlySpan<byte> salt, string clientId, string token, Span<byte> digest)
    {
        var message = LengthPrefixed(clientId, token);
        HMACSHA256.HashData(salt, message, digest);
        CryptographicOperations.ZeroMemory(message);
    }

    private static byte[] LengthPrefixed(string first, string second)
    {
        var firstLength = Encoding.UTF8.GetByteCount(first);
        var message = new byte[4 + firstLength + Encoding.UTF8.GetByteCount(second)];
        BinaryPrimitives.WriteInt32BigEndian(message, firstLength);
        Encoding.UTF8.GetBytes(first, message.AsSpan(4));
        Encoding.UTF8.GetBytes(second, message.AsSpan(4 + firstLength));
        return message;
    }
}
