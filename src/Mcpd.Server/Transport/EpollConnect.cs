using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Mcpd.Server.Transport;

/// <summary>
/// An outbound TCP connect on an event loop: a non-blocking socket(2) and connect(2), then one EPOLLOUT event says the
/// handshake has ended and SO_ERROR says how (connect(2), EINPROGRESS). Not a <see cref="Socket"/>: its connect
/// registers the socket with the runtime's own epoll thread, and that registration belongs to the open socket, not to
/// a descriptor, so it outlives the Socket through a duplicate: every answer an upstream device sent then also woke that
/// thread and queued a thread-pool work item, about one per gateway request (docs/performance.md, issue 13).
/// </summary>
internal sealed class EpollConnect : IEpollTarget
{
    private readonly TaskCompletionSource _writable = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private EpollConnect()
    {
    }

    public ulong Id { get; set; }

    public void OnEvents(uint events) => _writable.TrySetResult();

    /// <summary>
    /// A connected, non-blocking socket with TCP_NODELAY to <paramref name="remote"/>, watched for the handshake by
    /// <paramref name="loop"/> and out of its epoll set again on return.
    /// </summary>
    /// <exception cref="SocketException">The connection was refused, timed out in the kernel, or could not be made.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled first.</exception>
    public static async Task<EpollSocketHandle> ConnectAsync(IPEndPoint remote, EpollLoop loop, CancellationToken cancellationToken)
    {
        var handle = Open(remote.AddressFamily);
        try
        {
            var errno = Start(handle, remote);
            if (errno == EpollInterop.EInProgress)
            {
                var connect = new EpollConnect();
                var id = loop.Register(connect);
                try
                {
                    loop.WatchOnce(handle, id, EpollInterop.EpollOut, added: false);
                    await connect._writable.Task.WaitAsync(cancellationToken);
                }
                finally
                {
                    loop.Watch(handle, id, EpollInterop.EpollOut, 0);
                    loop.Unregister(id);
                }

                errno = PendingError(handle);
            }

            return errno == 0 ? handle : throw Failure(errno);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static unsafe EpollSocketHandle Open(AddressFamily family)
    {
        var domain = family == AddressFamily.InterNetwork ? EpollInterop.AfInet : EpollInterop.AfInet6;
        var descriptor = EpollInterop.socket(domain, EpollInterop.SockStream | EpollInterop.SockNonBlock | EpollInterop.CloseOnExec, 0);
        if (descriptor < 0)
        {
            throw Failure(Marshal.GetLastPInvokeError());
        }

        var handle = new EpollSocketHandle(descriptor);
        var on = 1;
        EpollInterop.setsockopt(handle, EpollInterop.IpProtoTcp, EpollInterop.TcpNoDelay, &on, sizeof(int));
        return handle;
    }

    /// <summary>connect(2): 0 when connected at once, else its errno (EINPROGRESS: the handshake goes on).</summary>
    private static unsafe int Start(EpollSocketHandle handle, IPEndPoint remote)
    {
        var address = stackalloc byte[EpollInterop.SockAddrStorageSize];
        var length = EpollInterop.WriteEndPoint(remote, new Span<byte>(address, EpollInterop.SockAddrStorageSize));
        return EpollInterop.connect(handle, address, length) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>SO_ERROR: how the handshake ended, 0 for connected.</summary>
    private static unsafe int PendingError(EpollSocketHandle handle)
    {
        int error, length = sizeof(int);
        return EpollInterop.getsockopt(handle, EpollInterop.SolSocket, EpollInterop.SoError, &error, &length) == 0
            ? error
            : Marshal.GetLastPInvokeError();
    }

    /// <summary>The errno as the SocketException a <see cref="Socket"/> would have thrown, for the callers' logs and handling.</summary>
    private static SocketException Failure(int errno) => errno switch
    {
        111 => new SocketException((int)SocketError.ConnectionRefused),
        110 => new SocketException((int)SocketError.TimedOut),
        113 => new SocketException((int)SocketError.HostUnreachable),
        101 => new SocketException((int)SocketError.NetworkUnreachable),
        99 => new SocketException((int)SocketError.AddressNotAvailable),
        104 => new SocketException((int)SocketError.ConnectionReset),
        _ => new SocketException((int)SocketError.SocketError, Marshal.GetPInvokeErrorMessage(errno)),
    };
}
