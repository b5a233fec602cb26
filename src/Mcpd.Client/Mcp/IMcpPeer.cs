using System.Net;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Client.Mcp;

/// <summary>
/// The other end of an MCP connection, callable in the same way from either side (docs/protocol.md: both directions
/// may send REQ): an <see cref="McpClient"/> calls its server; the server calls a connected client through this.
/// </summary>
public interface IMcpPeer
{
    /// <summary>Where the peer is.</summary>
    EndPoint? RemoteEndPoint { get; }

    /// <summary>Calls <paramref name="method"/> on the peer and returns its response, whatever its status.</summary>
    /// <exception cref="TimeoutException">No response within the connection's request timeout.</exception>
    /// <exception cref="IOException">The connection broke or is closed.</exception>
    Task<McpResponse> CallAsync(string method, ReadOnlyMemory<byte> body = default, IReadOnlyList<KeyValuePair<string, string>>? headers = null, CancellationToken cancellationToken = default);

    /// <summary>Sends a one-way message; completes with the ACK's status once the peer accepted (or refused) it.</summary>
    /// <exception cref="TimeoutException">No ACK within the connection's request timeout.</exception>
    /// <exception cref="IOException">The connection broke or is closed.</exception>
    Task<McpStatus> SendOneWayAsync(string method, ReadOnlyMemory<byte> body = default, IReadOnlyList<KeyValuePair<string, string>>? headers = null, CancellationToken cancellationToken = default);
}
