using System.IO.Pipelines;
using System.Net;

namespace Mcpd.Client;

/// <summary>
/// An open connection a client speaks over, seen as two pipes: a socket (and TLS) opened by the client itself, or a
/// connection that a server's own event loop opened and serves (mcpd's gateway does that, so that its upstream
/// connections are read and written on the same threads as its clients, without a thread switch).
/// </summary>
public interface IClientTransport : IAsyncDisposable
{
    /// <summary>What the peer sent (Input) and what goes to it (Output). The client completes both when it is done.</summary>
    IDuplexPipe Pipe { get; }

    /// <summary>The peer.</summary>
    EndPoint RemoteEndPoint { get; }

    /// <summary>Cuts the connection at once: pending reads end, further writes fail.</summary>
    void Abort();
}
