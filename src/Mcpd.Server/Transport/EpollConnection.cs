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
internal sealed class EpollConnection : ConnectionContext
{
    /// <summary>How long disposal waits for unsent output before it aborts (a peer that stopped reading).</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    private static long s_lastId;

    private readonly Socket _socket;
    private readonly EpollLoop _loop;
    private readonly EpollSocketReader _input;
    private readonly EpollSocketWriter _output;
    private readonly CancellationTokenSource _closed = new();
    private IDictionary<object, object?>? _items;
    private uint _watched;
    private bool _receiving = true;
    private bool _aborted;
    private bool _disposed;

    public EpollConnection(Socket socket, EpollLoop loop, int maxInputBuffer, ApplicationScheduling scheduling)
    {
        _socket = socket;
        _loop = loop;
        _input = new EpollSocketReader(this, maxInputBuffer, scheduling);
        _output = new EpollSocketWriter(this, scheduling);
        Transport = new DuplexPipe(_input, _output);
        ConnectionId = $"E{Interlocked.Increment(ref s_lastId):X8}";
        LocalEndPoint = Unmapped(socket.LocalEndPoint);
        RemoteEndPoint = Unmapped(socket.RemoteEndPoint);
        ConnectionClosed = _closed.Token;
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new ConnectionFeatures();

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    /// <summary>The loop's id of this connection (slot and generation); set by <see cref="EpollLoop.Register"/>.</summary>
    internal ulong Id { get; set; }

    /// <summary>Guards receive and send state, the epoll registration and the socket's lifetime.</summary>
    internal Lock Sync { get; } = new();

    /// <summary>Puts the socket in non-blocking mode and starts watching it.</summary>
    public void Start()
    {
        _socket.Blocking = false;
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
    /// Watches input while receiving and the reader has room, output while a flush waits; nothing otherwise (an idle
    /// or finished socket then costs the loop nothing, not even a hang-up event). Under <see cref="Sync"/>.
    /// </summary>
    internal void UpdateWatch()
    {
        if (_disposed)
        {
            return;
        }

        var wanted = (_receiving && _input.CanReceive ? EpollInterop.EpollIn | EpollInterop.EpollRdHup : 0)
            | (_output.WaitingForWritable ? EpollInterop.EpollOut : 0);
        _loop.Watch(_socket.SafeHandle, Id, _watched, wanted);
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
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // Already disconnected.
            }

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

        _socket.Dispose();
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
                sent = EpollInterop.send(_socket.SafeHandle, pointer, bytes.Length, EpollInterop.MsgNoSignal);
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
            received = EpollInterop.recv(_socket.SafeHandle, pointer, memory.Length, 0);
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
        if (!_closed.IsCancellationRequested)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static source => source.Cancel(), _closed, preferLocal: false);
        }
    }

    /// <summary>Completions to deliver once the lock is released.</summary>
    private struct Signals
    {
        public bool Read;
        public bool Flush;
    }

    /// <summary>
    /// An IPv4 peer of a dual-mode listener (bind <c>*</c>) as the IPv4 address it is, not <c>[::ffff:127.0.0.1]</c>:
    /// logs, the admin API and <c>sys.info</c> show what the operator typed and what firewalls show.
    /// </summary>
    private static EndPoint? Unmapped(EndPoint? endPoint) =>
        endPoint is IPEndPoint { Address.IsIPv4MappedToIPv6: true } mapped ? new IPEndPoint(mapped.Address.MapToIPv4(), mapped.Port) : endPoint;

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
