using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Mcpd.Client.Internal;

/// <summary>A connection the client opened itself (<see cref="TcpConnector"/>): its socket's stream, or TLS over it, as pipes.</summary>
internal sealed class StreamClientTransport(ClientConnection connection) : IClientTransport, IDuplexPipe
{
    private readonly Socket _socket = connection.Socket;

    public IDuplexPipe Pipe => this;

    // The reader disposes the stream when the client completes it.
    public PipeReader Input { get; } = PipeReader.Create(connection.Stream);

    public PipeWriter Output { get; } = PipeWriter.Create(connection.Stream, new StreamPipeWriterOptions(leaveOpen: true));

    public EndPoint RemoteEndPoint { get; } = TcpConnector.RemoteEndPointOf(connection.Socket);

    public void Abort() => TcpConnector.ShutdownQuietly(_socket);

    public async ValueTask DisposeAsync()
    {
        // With an error, the writer drops what it could not send instead of writing to a stream the reader closed.
        await Output.CompleteAsync(new IOException("The connection was closed."));
        await Input.CompleteAsync();
        _socket.Dispose();
    }
}
