namespace Mcpd.Server.Gateway;

/// <summary>Opens the connections of an <see cref="UpstreamConnectionPool{TConnection}"/> and tells whether one is still open.</summary>
/// <typeparam name="TConnection">One connection to the device.</typeparam>
internal interface IUpstreamConnector<TConnection>
    where TConnection : class, IAsyncDisposable
{
    /// <summary>Opens one connection; throws <see cref="System.Net.Sockets.SocketException"/>, <see cref="TimeoutException"/> or <see cref="OperationCanceledException"/> when it cannot.</summary>
    Task<TConnection> ConnectAsync(CancellationToken cancellationToken);

    /// <summary>False once either end closed <paramref name="connection"/>.</summary>
    bool IsOpen(TConnection connection);
}
