using System.Net;
using Mcpd.Client.Mcp;

namespace Mcpd.Server.Connections;

/// <summary>
/// What the server keeps about one MCP connection besides calling its client (<see cref="IMcpPeer"/>): who it is and
/// the session it is bound to (docs/sessions.md: session.open and session.resume bind, session.close unbinds). Set in
/// the connection's Kestrel feature collection, and the peer of every request it carries.
/// </summary>
internal interface IMcpConnectionFeature
{
    /// <summary>Kestrel's connection id, the one in log lines and in a session's binding.</summary>
    string Id { get; }

    /// <summary>The client.</summary>
    EndPoint? RemoteEndPoint { get; }

    /// <summary>The session this connection is bound to, or null.</summary>
    ISessionState? BoundSession { get; }

    /// <summary>Binds the connection to <paramref name="session"/>: its later requests see it as their session.</summary>
    void Bind(ISessionState session);

    /// <summary>Forgets the binding when it is to <paramref name="sessionId"/>.</summary>
    void Unbind(string sessionId);

    /// <summary>The connection <paramref name="request"/> arrived on, when it arrived on an MCP listener of this server.</summary>
    static IMcpConnectionFeature? Of(McpIncomingRequest request) => request.Peer as IMcpConnectionFeature;
}
