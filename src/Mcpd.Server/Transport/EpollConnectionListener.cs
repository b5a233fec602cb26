using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Transport;

/// <summary>
/// Accepts connections on one endpoint with accept4(2), non-blocking, and hands each to an event loop, round-robin.
/// While nothing is waiting to be accepted it waits for the listening socket's readiness on the first loop (one
/// event, EPOLLONESHOT, re-armed by the next wait); the accept itself runs on the thread pool, never on a loop.
/// An accepted socket is owned by an <see cref="EpollSocketHandle"/>, not a <see cref="Socket"/>: nothing else is made
/// per connection but the peer's endpoint.
/// Invariants: the wait's state and <see cref="_closed"/> are guarded by <see cref="_sync"/>; once closed, a waiting
/// accept ends with null and every later one returns null.
/// </summary>
internal sealed partial class EpollConnectionListener : IConnectionListener, IEpollTarget, IValueTaskSource<bool>
{
    /// <summary>Stands for "the listener is closed" among the errno values <see cref="TryAccept"/> returns.</summary>
    private const int ClosedErrno = -1;

    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>A failing accept is logged at most once per interval, with the count of failures since the last line.</summary>
    private static readonly TimeSpan AcceptFailureLogInterval = TimeSpan.FromSeconds(10);

    private readonly Socket _listenSocket;
    private readonly EpollLoop[] _loops;
    private readonly EpollTransportOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _sync = new();

    /// <summary>This end of every accepted connection when the listener's address is a specific one; null for a wildcard.</summary>
    private readonly EndPoint? _localOfAccepted;
    private PendingCompletion<bool> _readable;
    private bool _watched;
    private bool _closed;
    private int _next;
    private long _lastFailureLogged = long.MinValue;
    private int _failuresNotLogged;

    public EpollConnectionListener(Socket listenSocket, EpollLoop[] loops, EpollTransportOptions options, ILogger logger)
    {
        _listenSocket = listenSocket;
        _loops = loops;
        _options = options;
        _logger = logger;
        EndPoint = listenSocket.LocalEndPoint!;
        _localOfAccepted = EndPoint is IPEndPoint { Address: var address } && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any) ? EndPoint : null;
        // The accepting thread is the thread pool's, not the loop that reports readiness.
        _readable.RunContinuationsAsynchronously = true;
        EpollInterop.SetNonBlocking(listenSocket.SafeHandle);
        loops[0].Register(this);
    }

    public EndPoint EndPoint { get; }

    /// <summary>The first loop's id of this listener.</summary>
    public ulong Id { get; set; }

    /// <summary>The next connection; null once the listener is unbound. Kestrel calls it in a loop, one call at a time.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var errno = TryAccept(out var connection);
            if (connection is not null)
            {
                try
                {
                    connection.Start();
                    return connection;
                }
                catch (System.ComponentModel.Win32Exception)
                {
                    // epoll_ctl refused it (ENOMEM, ENOSPC): this connection cannot be served; the listener goes on.
                    await connection.DisposeAsync();
                    continue;
                }
            }

            switch (errno)
            {
                case EpollInterop.EAgain:
                    if (!await WhenReadableAsync(cancellationToken))
                    {
                        return null;
                    }

                    break;
                case EpollInterop.EIntr or EpollInterop.EConnAborted or EpollInterop.EProto or EpollInterop.EPerm:
                    // The peer went away between SYN and accept (or a firewall refused it): take the next one.
                    break;
                case ClosedErrno:
                    return null;
                default:
                    // Out of descriptors or buffers (EMFILE, ENFILE, ENOBUFS, ENOMEM): the connections already open keep
                    // being served; retry shortly instead of spinning, or of stopping this listener for good.
                    LogAcceptFailure(errno);
                    await Task.Delay(AcceptRetryDelay, cancellationToken);
                    break;
            }
        }
    }

    public void OnEvents(uint events)
    {
        bool signal;
        lock (_sync)
        {
            signal = _readable.IsPending && _readable.Prepare(true);
        }

        if (signal)
        {
            _readable.Signal();
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        Close();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _readable.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _readable.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _readable.OnCompleted(continuation, state, token, flags);

    /// <summary>One accept4: the connection (not started yet), or null and the errno (<see cref="ClosedErrno"/> once closed).</summary>
    private unsafe int TryAccept(out EpollConnection? connection)
    {
        connection = null;
        var address = stackalloc byte[EpollInterop.SockAddrStorageSize];
        var length = EpollInterop.SockAddrStorageSize;
        int descriptor;
        try
        {
            descriptor = EpollInterop.accept4(_listenSocket.SafeHandle, address, &length, EpollInterop.SockNonBlock | EpollInterop.CloseOnExec);
        }
        catch (ObjectDisposedException)
        {
            return ClosedErrno;
        }

        if (descriptor < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return Volatile.Read(ref _closed) ? ClosedErrno : errno;
        }

        var handle = new EpollSocketHandle(descriptor);
        var noDelay = 1;
        // A failure here (the peer already reset) shows on the first recv or send.
        _ = EpollInterop.setsockopt(handle, EpollInterop.IpProtoTcp, EpollInterop.TcpNoDelay, &noDelay, sizeof(int));
        var loop = _loops[(uint)Interlocked.Increment(ref _next) % (uint)_loops.Length];
        connection = new EpollConnection(handle, EpollInterop.ReadEndPoint(address, length), _localOfAccepted, loop, _options.MaxReadBufferSize, _options.ApplicationScheduling);
        return 0;
    }

    /// <summary>Waits until the listening socket is readable; false once the listener is closed.</summary>
    private ValueTask<bool> WhenReadableAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_sync)
        {
            if (_closed)
            {
                return new ValueTask<bool>(false);
            }

            // Armed first (it may throw, and then nothing waits); an event cannot come before the wait begins, since
            // OnEvents takes this lock.
            _loops[0].WatchOnce(_listenSocket.SafeHandle, Id, EpollInterop.EpollIn, _watched);
            _watched = true;
            _readable.Begin(static (state, token) => ((EpollConnectionListener)state!).CancelWait(token), this, cancellationToken);
            return new ValueTask<bool>(this, _readable.Version);
        }
    }

    private void CancelWait(CancellationToken token)
    {
        lock (_sync)
        {
            if (!_readable.IsPending)
            {
                return;
            }

            _readable.PrepareError(new OperationCanceledException(token));
        }

        _readable.Signal();
    }

    /// <summary>Stops accepting: a waiting accept returns null, the socket closes (and leaves the epoll set with it).</summary>
    private void Close()
    {
        bool signal;
        lock (_sync)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            signal = _readable.IsPending && _readable.Prepare(false);
        }

        _loops[0].Unregister(Id);
        _listenSocket.Dispose();
        if (signal)
        {
            _readable.Signal();
        }
    }

    private void LogAcceptFailure(int errno)
    {
        _failuresNotLogged++;
        if (_lastFailureLogged != long.MinValue && Stopwatch.GetElapsedTime(_lastFailureLogged) < AcceptFailureLogInterval)
        {
            return;
        }

        _lastFailureLogged = Stopwatch.GetTimestamp();
        LogAcceptFailed(_logger, EndPoint, errno, Marshal.GetPInvokeErrorMessage(errno), _failuresNotLogged, AcceptRetryDelay);
        _failuresNotLogged = 0;
    }

    [LoggerMessage(EventId = 151, Level = LogLevel.Error, Message = "cannot accept connections on {EndPoint}: errno {Errno} ({Message}), {Failures} time(s) since the last line; retrying every {RetryDelay}. Open connections are still served; if it is EMFILE (24), raise LimitNOFILE (ulimit -n)")]
    private static partial void LogAcceptFailed(ILogger logger, EndPoint endPoint, int errno, string message, int failures, TimeSpan retryDelay);
}
