using System.Buffers;
using Mcpd.Client.Mcp;

namespace Mcpd.Server.Mcp;

/// <summary>
/// Where an MCP connection hands its requests (implemented by routing, docs/routing.md): the connection frames and
/// reads, the dispatcher decides where each request goes and answers it through the connection's
/// <see cref="McpRequestAnswerer"/>.
/// </summary>
internal interface IMcpRequestDispatcher
{
    /// <summary>The longest read pause of a connection refused OVERLOADED (<c>routing:overloadBackoff</c>, live).</summary>
    TimeSpan OverloadBackoff { get; }

    /// <summary>
    /// Answers the REQ <paramref name="payload"/>; returns false when the connection must close (an unreadable
    /// request). <paramref name="atLimit"/>: no in-flight slot is free, so a well-formed request is refused OVERLOADED.
    /// </summary>
    bool Dispatch(in ReadOnlySequence<byte> payload, bool atLimit, McpRequestAnswerer answerer);

    /// <summary>Connection <paramref name="connectionId"/>, bound to <paramref name="session"/>, closed: the session lives on for a resume.</summary>
    void ReleaseSession(ISessionState session, string connectionId);
}
