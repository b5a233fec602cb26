using System.Collections;
using System.Net;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Mcpd.Server.Transport;

/// <summary>
/// A TCP connection served by an <see cref="EpollLoop"/>. Receiving happens on the loop thread: one recv per readiness
/// event straight into <see cref="EpollSocketReader"/>'s buffer, and a waiting read (the connection handler) continues
/// inline there, or on the thread pool (<see cref="ApplicationScheduling"/>). Sending happens when the handler flushes,
/// straight from <see cref="EpollSocketWriter"/> to the socket, so a request is read, answered and written in one
/// pass, without a thread switch and without pipes in between.
/// Invariants: receive and send state, the epoll registration and the socket's lifetime are guarded by
/// <see cref="Sync"/>, and no application code runs while it is held (completions are prepared under it and delivered
/// after); every recv, send and epoll_ctl runs under it after checking that the connection is not disposed (the
/// writer's closed flag is set first), the socket is disposed only after <see cref="_disposed"/> is set, and each call
/// holds a reference on the socket's SafeHandle (<see cref="EpollInterop"/>): no call reaches a reused descriptor.
/// </summary>
internal sealed class EpollConnection : ConnectionContext, IDuplexPipe, IFeatureCollection, IEpollTarget
{
    /// <summary>How long disposal waits for unsent output before it aborts (a peer that stopped reading).</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    private static long s_lastId;

    private readonly EpollSocketHandle _handle;
    private readonly EpollLoop _loop;
    private readonly EpollSocketReader _input;
    private readonly EpollSocketWriter _output;

    /// <summary>
    /// The source of <see cref="ConnectionClosed"/>, made the first time someone asks for the token: Kestrel does not
    /// for connection handlers, so an idle connection keeps none.
    /// </summary>
    private CancellationTokenSource? _closed;

    /// <summary>1 once the input has ended (<see cref="FireClosed"/>): a source made after that is cancelled at once.</summary>
    private byte _closedFired;
    private IDictionary<object, object?>? _items;
    private ConnectionFeatures _features;
    private uint _watched;
    private bool _receiving = true;
    private bool _aborted;
    private bool _disposed;

    /// <param name="handle">The accepted socket, non-blocking.</param>
    /// <param name="remote">The peer.</param>
    /// <param name="local">This end, when the listener's address is it; null: asked of the socket when first wanted.</param>
    /// <param name="loop">The loop that serves the connection.</param>
    /// <param name="maxInputBuffer">Unconsumed input at which receiving stops (<see cref="EpollSocketReader"/>).</param>
    /// <param name="scheduling">Where the handler's reads and flushes continue.</param>
    public EpollConnection(EpollSocketHandle handle, EndPoint? remote, EndPoint? local, EpollLoop loop, int maxInputBuffer, ApplicationScheduling scheduling)
    {
        _handle = handle;
        _loop = loop;
        _input = new EpollSocketReader(this, maxInputBuffer, scheduling);
        _output = new EpollSocketWriter(this, scheduling);
        Transport = this;
        _features = new ConnectionFeatures(); // empty: Kestrel and the handlers set what they need
        ConnectionId = $"E{Interlocked.Increment(ref s_lastId):X8}";
        LocalEndPoint = local;
        RemoteEndPoint = remote;
    }

    public override string ConnectionId { get; set; }

    /// <summary>The connection is its own feature collection, as Kestrel's transports are: the slots are a field of it.</summary>
    public override IFeatureCollection Features => this;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    /// <summary>The connection is its own pipe (one object less per connection): <see cref="Transport"/>, until a layer wraps it.</summary>
    PipeReader IDuplexPipe.Input => _input;

    PipeWriter IDuplexPipe.Output => _output;

    bool IFeatureCollection.IsReadOnly => false;

    int IFeatureCollection.Revision => _features.Revision;

    object? IFeatureCollection.this[Type key]
    {
        get => _features[key];
        set => _features[key] = value;
    }

    TFeature? IFeatureCollection.Get<TFeature>() where TFeature : default => (TFeature?)_features[typeof(TFeature)];

    void IFeatureCollection.Set<TFeature>(TFeature? instance) where TFeature : default => _features[typeof(TFeature)] = instance;

    IEnumerator<KeyValuePair<Type, object>> IEnumerable<KeyValuePair<Type, object>>.GetEnumerator() => _features.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _features.GetEnumerator();

    /// <summary>Cancelled (on the thread pool) when the input ends: the peer's FIN, a reset, an abort or disposal.</summary>
    public override CancellationToken ConnectionClosed
    {
        get
        {
            if (Volatile.Read(ref _closed) is { } existing)
            {
                return existing.Token;
            }

            var source = Interlocked.CompareExchange(ref _closed, new CancellationTokenSource(), null) ?? _closed;
            // After publishing the source (a full fence): if the input ended before FireClosed could see it, cancel it here.
            if (Volatile.Read(ref _closedFired) == 1)
            {
                CancelOnThreadPool(source);
            }

            return source.Token;
        }

        set => throw new NotSupportedException("The epoll transport's ConnectionClosed cannot be replaced.");
    }

    /// <summary>The loop's id of this connection (slot and generation); set by <see cref="EpollLoop.Register"/>.</summary>
    public ulong Id { get; set; }

    /// <summary>
    /// Guards receive and send state, the epoll registration and the socket's lifetime. It is the socket handle, an
    /// object private to the transport (no lock object of its own: 40 bytes less per connection).
    /// </summary>
    internal object Sync => _handle;

    /// <summary>This end; for a listener on a wildcard address, read from the socket the first time someone asks.</summary>
    public override EndPoint? LocalEndPoint
    {
        get => base.LocalEndPoint ??= ReadLocalEndPoint();
        set => base.LocalEndPoint = value;
    }

    /// <summary>Starts watching the socket.</summary>
    public void Start()
    {
        lock (Sync)
        {
            _loop.Register(this);
            UpdateWatch();
        }
    }

    /// <summary>Readiness reported by the loop, on the loop thread.</summary>
    public void OnEvents(uint events)
    {
        Signals signals = default;
        try
        {
            OnEventsLocked(events, ref signals);
        }
        catch (Exception ex)
        {
            // epoll_ctl failed (ENOMEM, ENOSPC): this connection cannot be served any more; the loop goes on.
            Abort(new ConnectionAbortedException("The connection's epoll registration failed.", ex));
        }

        Fire(signals);
    }

    private void OnEventsLocked(uint events, ref Signals signals)
    {
        lock (Sync)
        {
            if (_disposed)
            {
                return;
            }

            // Writable, or an error/hang-up that the next send reports: either way a pending flush goes on.
            if ((events & (EpollInterop.EpollOut | EpollInterop.EpollErr | EpollInterop.EpollHup)) != 0)
            {
                signals.Flush = _output.OnWritable();
            }

            if (_receiving && _input.CanReceive && (events & ~EpollInterop.EpollOut) != 0)
            {
                try
                {
                    signals.Read = Receive();
                }
                catch (Exception ex)
                {
                    // Nothing may escape onto the loop thread: the failure ends this connection only.
                    signals.Read |= EndReceiving(new ConnectionAbortedException("The connection failed while receiving.", ex));
                }
            }
        }
    }

    /// <summary>
    /// Watches input while receiving, once the handler reads, and while the reader has room; output while a flush
    /// waits; nothing otherwise (an idle or finished socket then costs the loop nothing, not even a hang-up event).
    /// Under <see cref="Sync"/>.
    /// </summary>
    internal void UpdateWatch()
    {
        if (_disposed)
        {
            return;
        }

        var wanted = (_receiving && _input.CanReceive ? EpollInterop.EpollIn | EpollInterop.EpollRdHup : 0)
            | (_output.WaitingForWritable ? EpollInterop.EpollOut : 0);
        _loop.Watch(_handle, Id, _watched, wanted);
        _watched = wanted;
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        Signals signals;
        lock (Sync)
        {
            if (_aborted || _disposed)
            {
                return;
            }

            _aborted = true;
            // A failure (already disconnected) changes nothing: the peer sees the end either way.
            _ = EpollInterop.shutdown(_handle, EpollInterop.ShutRdWr);

            signals = new Signals { Flush = _output.OnClosed(), Read = EndReceiving(abortReason) };
        }

        Fire(signals);
    }

    public override async ValueTask DisposeAsync()
    {
        // The application is done with both directions; what it flushed but could not be sent yet is drained first.
        await _input.CompleteAsync();
        await _output.CompleteAsync();
        try
        {
            await _output.WhenDrainedAsync().WaitAsync(DrainTimeout);
        }
        catch (TimeoutException)
        {
            Abort(new ConnectionAbortedException($"The peer did not read the last output within {DrainTimeout}."));
        }

        Signals signals;
        lock (Sync)
        {
            signals = new Signals { Read = EndReceiving(null), Flush = _output.OnClosed() };
            UpdateWatch();
            _disposed = true;
            _loop.Unregister(Id);
        }

        Fire(signals);

        _handle.Dispose();
        FireClosed();
        await base.DisposeAsync();
    }

    /// <summary>
    /// One send(2) of <paramref name="bytes"/> (not empty), retried on EINTR: the count sent, or 0 when the socket buffer
    /// is full (<paramref name="wouldBlock"/>) or the connection failed. Only <see cref="EpollSocketWriter"/> sends,
    /// under <see cref="Sync"/>, never after it has seen the connection closed.
    /// </summary>
    internal unsafe int Send(ReadOnlySpan<byte> bytes, out bool wouldBlock)
    {
        while (true)
        {
            nint sent;
            fixed (byte* pointer = bytes)
            {
                sent = EpollInterop.send(_handle, pointer, bytes.Length, EpollInterop.MsgNoSignal);
            }

            var errno = sent < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (errno != EpollInterop.EIntr)
            {
                wouldBlock = errno == EpollInterop.EAgain;
                return sent < 0 ? 0 : (int)sent;
            }
        }
    }

    /// <summary>One recv into the reader's buffer; returns true when a waiting read is to be signalled. Under <see cref="Sync"/>, not disposed.</summary>
    private unsafe bool Receive()
    {
        var memory = _input.ReserveForReceive();
        nint received;
        fixed (byte* pointer = memory.Span)
        {
            received = EpollInterop.recv(_handle, pointer, memory.Length, 0);
        }

        if (received > 0)
        {
            var ready = _input.OnReceived((int)received);
            // The reader may now be full (backpressure): stop watching input until the handler consumes.
            UpdateWatch();
            return ready;
        }

        if (received == 0)
        {
            return EndReceiving(null);
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno is not (EpollInterop.EAgain or EpollInterop.EIntr)
            && EndReceiving(new ConnectionResetException($"recv failed: {new SocketException(errno).Message}"));
    }

    /// <summary>
    /// Ends the input side once: the handler sees the end of the stream (or the error), and so does ConnectionClosed.
    /// Returns true when a waiting read is to be signalled.
    /// </summary>
    private bool EndReceiving(Exception? error)
    {
        if (!_receiving)
        {
            return false;
        }

        _receiving = false;
        // Level-triggered readiness stays on at end of stream: stop watching input (and leave the set if no flush waits).
        UpdateWatch();
        FireClosed();
        return _input.OnEnded(error);
    }

    /// <summary>
    /// Delivers completions prepared under <see cref="Sync"/>, after leaving it: the application continues inline
    /// here, and nothing it does (disposing a registration whose callback waits for the lock) may find the lock held.
    /// </summary>
    private void Fire(Signals signals)
    {
        if (signals.Flush)
        {
            _output.SignalFlush();
        }

        if (signals.Read)
        {
            _input.SignalRead();
        }
    }

    /// <summary>
    /// ConnectionClosed callbacks run on the thread pool, never on the loop thread under the lock. The source is
    /// never disposed: it has no timer, and a queued cancellation may still run after disposal.
    /// </summary>
    private void FireClosed()
    {
        // The flag before reading the source (Dekker, with the getter's publish-then-read): one of the two cancels it.
        if (Interlocked.Exchange(ref _closedFired, (byte)1) == 0 && Volatile.Read(ref _closed) is { } source)
        {
            CancelOnThreadPool(source);
        }
    }

    private static void CancelOnThreadPool(CancellationTokenSource source) =>
        ThreadPool.UnsafeQueueUserWorkItem(static source => source.Cancel(), source, preferLocal: false);

    /// <summary>Completions to deliver once the lock is released.</summary>
    private struct Signals
    {
        public bool Read;
        public bool Flush;
    }

    private unsafe IPEndPoint? ReadLocalEndPoint()
    {
        var address = stackalloc byte[EpollInterop.SockAddrStorageSize];
        var length = EpollInterop.SockAddrStorageSize;
        try
        {
            return EpollInterop.getsockname(_handle, address, &length) == 0 ? EpollInterop.ReadEndPoint(address, length) : null;
        }
        catch (ObjectDisposedException)
        {
            // Asked after the connection was disposed.
            return null;
        }
    }
}
