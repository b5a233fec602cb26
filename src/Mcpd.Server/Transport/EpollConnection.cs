using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Mcpd.Server.Transport;

/// <summary>
/// A TCP connection served by an <see cref="EpollLoop"/>. Receiving happens on the loop thread: one recv per readiness
/// event into the input pipe, whose reader (the connection handler) runs inline. Sending happens when the handler
/// flushes, straight from <see cref="EpollSocketWriter"/> to the socket, so a request is read, answered and written
/// in one pass without a thread switch. Invariants: receive state, the epoll registration and the descriptor's
/// lifetime are guarded by <see cref="Sync"/>; the descriptor is closed only after <see cref="_disposed"/> is set,
/// so no recv or send can reach a descriptor the kernel has reused.
/// </summary>
internal sealed class EpollConnection : ConnectionContext
{
    /// <summary>Smallest receive buffer; a Modbus ADU is at most 260 bytes, a pooled block is 4 KiB.</summary>
    private const int MinimumReadSize = 2048;

    /// <summary>How long disposal waits for unsent output before it aborts (a peer that stopped reading).</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(5);

    private static long s_lastId;

    private readonly Socket _socket;
    private readonly int _fd;
    private readonly EpollLoop _loop;
    private readonly Pipe _input;
    private readonly EpollSocketWriter _output;
    private readonly CancellationTokenSource _closed = new();
    private IDictionary<object, object?>? _items;
    private ulong _id;
    private uint _watched;
    private bool _receiving = true;
    private bool _paused;
    private bool _aborted;
    private bool _disposed;

    public EpollConnection(Socket socket, EpollLoop loop, PipeOptions inputOptions)
    {
        _socket = socket;
        _fd = (int)socket.SafeHandle.DangerousGetHandle();
        _loop = loop;
        _input = new Pipe(inputOptions);
        _output = new EpollSocketWriter(this, _fd);
        Transport = new DuplexPipe(_input.Reader, _output);
        ConnectionId = $"E{Interlocked.Increment(ref s_lastId):X8}";
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
        ConnectionClosed = _closed.Token;
    }

    public override string ConnectionId { get; set; }

    public override IFeatureCollection Features { get; } = new FeatureCollection();

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    /// <summary>Guards receive state, the epoll registration and the descriptor's lifetime.</summary>
    internal Lock Sync { get; } = new();

    /// <summary>Puts the socket in non-blocking mode and starts watching it.</summary>
    public void Start()
    {
        var flags = EpollInterop.fcntl(_fd, EpollInterop.FGetFl, 0);
        if (flags < 0 || EpollInterop.fcntl(_fd, EpollInterop.FSetFl, flags | EpollInterop.ONonBlock) < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        lock (Sync)
        {
            _id = _loop.Register(this);
            UpdateWatch();
        }
    }

    /// <summary>Readiness reported by the loop, on the loop thread.</summary>
    public void OnEvents(uint events)
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
                _output.OnWritable();
            }

            if (_receiving && !_paused && (events & ~EpollInterop.EpollOut) != 0)
            {
                try
                {
                    Receive();
                }
                catch (Exception ex)
                {
                    // Nothing may escape onto the loop thread: the failure ends this connection only.
                    EndReceiving(new ConnectionAbortedException("The connection failed while receiving.", ex));
                }
            }
        }
    }

    /// <summary>Watches input while receiving and not paused, output while a flush waits; nothing otherwise. Under <see cref="Sync"/>.</summary>
    internal void UpdateWatch()
    {
        if (_disposed)
        {
            return;
        }

        var wanted = (_receiving && !_paused ? EpollInterop.EpollIn | EpollInterop.EpollRdHup : 0)
            | (_output.WaitingForWritable ? EpollInterop.EpollOut : 0);
        _loop.Watch(_fd, _id, _watched, wanted);
        _watched = wanted;
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
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

            _output.OnClosed();
            // Last: completing the input runs the handler inline, which may dispose this connection.
            EndReceiving(abortReason);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        // The application is done with both directions; what it flushed but could not be sent yet is drained first.
        await _input.Reader.CompleteAsync();
        await _output.CompleteAsync();
        try
        {
            await _output.WhenDrainedAsync().WaitAsync(DrainTimeout);
        }
        catch (TimeoutException)
        {
            Abort(new ConnectionAbortedException($"The peer did not read the last output within {DrainTimeout}."));
        }

        lock (Sync)
        {
            EndReceiving(null);
            _output.OnClosed();
            UpdateWatch();
            _disposed = true;
            _loop.Unregister(_id);
        }

        _socket.Dispose();
        FireClosed();
        await base.DisposeAsync();
    }

    /// <summary>One recv into the input pipe, then a flush that runs the connection handler inline.</summary>
    private unsafe void Receive()
    {
        var writer = _input.Writer;
        var memory = writer.GetMemory(MinimumReadSize);
        nint received;
        fixed (byte* pointer = memory.Span)
        {
            received = EpollInterop.recv(_fd, pointer, memory.Length, 0);
        }

        if (received == 0)
        {
            EndReceiving(null);
            return;
        }

        if (received < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is not (EpollInterop.EAgain or EpollInterop.EIntr))
            {
                EndReceiving(new ConnectionResetException($"recv failed: {new SocketException(errno).Message}"));
            }

            return;
        }

        writer.Advance((int)received);
        var flush = writer.FlushAsync();
        if (!flush.IsCompleted)
        {
            // Backpressure: the handler has not consumed enough; stop watching for input until it has.
            _paused = true;
            UpdateWatch();
            _ = ResumeAfterFlushAsync(flush);
        }
        else if (flush.Result.IsCompleted)
        {
            EndReceiving(null);
        }
    }

    private async Task ResumeAfterFlushAsync(ValueTask<FlushResult> flush)
    {
        var result = await flush;
        lock (Sync)
        {
            _paused = false;
            if (result.IsCompleted)
            {
                EndReceiving(null);
            }
            else
            {
                UpdateWatch();
            }
        }
    }

    /// <summary>Ends the input side once: the handler sees the end of the stream (or the error), and so does ConnectionClosed.</summary>
    private void EndReceiving(Exception? error)
    {
        if (!_receiving)
        {
            return;
        }

        _receiving = false;
        // Level-triggered readiness stays on at end of stream: stop watching input (and leave the set if no flush waits).
        UpdateWatch();
        _input.Writer.Complete(error);
        FireClosed();
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

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
