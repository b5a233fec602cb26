using System.Buffers;

namespace Mcpd.Client.Internal;

/// <summary>
/// Names the protocol a server speaks from the first bytes it sent, when they are not the protocol the client
/// expected: a user who points a client at the wrong port learns which port it is, not only that the bytes are wrong.
/// </summary>
internal static class ProtocolSniffer
{
    /// <summary>What the server at the other end looks like, with the command to use; null when unrecognised.</summary>
    public static string? Describe(in ReadOnlySequence<byte> received)
    {
        Span<byte> start = stackalloc byte[5];
        var length = (int)Math.Min(received.Length, start.Length);
        received.Slice(0, length).CopyTo(start);
        start = start[..length];
        if (start.StartsWith("HTTP/"u8))
        {
            return "this is an HTTP server (mcpd's admin API answers HTTP: use curl or a browser)";
        }

        // MCP: magic 0x4D43 ('MC') then version 1 (docs/protocol.md).
        if (start.StartsWith("MC\u0001"u8))
        {
            return "this looks like an MCP server (its frames start with 'MC'): use mcpd call or mcpd ping";
        }

        // The 0x5A CRC framing starts every frame with 0x5A, then a 16-bit length.
        if (start.Length >= 3 && start[0] == 0x5A)
        {
            return "this looks like a CRC-framed MCP port (its frames start with 0x5A): use mcpd call --crc";
        }

        return null;
    }
}
