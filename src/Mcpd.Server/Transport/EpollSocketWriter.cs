using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace Mcpd.Server.Transport;

/// <summary>
/// The output side of an <see cref="EpollConnection"/>: a <see cref="PipeWriter"/> that sends straight to the socket
/// when flushed, from one pooled buffer that is rented on the first write and returned as soon as everything is sent,
/// so an idle connection holds no buffer. When the socket buffer is full the flush stays pending until the loop
/// reports the socket writable and the rest is sent; the application writes nothing meanwhile (PipeWriter contract:
/// one flush at a time, awaited before the next write), so the loop thread then owns the buffer.
/// </summary>
internal sealed class EpollSocketWriter(EpollConnection connection, int fd) : PipeWriter, IValueTaskSource<FlushResult>
{
    private const int MinimumBufferSize = 4096;

    private byte[]? _buffer;
    private int _sent;
    private int _written;
    private bool _closed;
    private bool _flushPending;
    private TaskCompletionSource? _drained;
    private ManualResetValueTaskSourceCore<FlushResult> _flush;
    private FlushResult _ready;

    /// <summary>True while a flush waits for the socket to become writable.</summary>
    public bool WaitingForWritable => _flushPending;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _written - _sent;

    public override Memory<byte> GetMemory(int sizeHint = 0) => Reserve(sizeHint).AsMemory(_written);

    public override Span<byte> GetSpan(int sizeHint = 0) => Reserve(sizeHint).AsSpan(_written);

    public override void Advance(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, (_buffer?.Length ?? 0) - _written);
        _written += bytes;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (_closed)
        {
            Release();
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
        }

        return SendOrWait() switch
        {
            SendOutcome.Sent => new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false)),
            SendOutcome.Failed => new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true)),
            _ => new ValueTask<FlushResult>(this, _flush.Version),
        };
    }

    /// <summary>
    /// The socket is writable (or failed): sends the rest of a pending flush. Loop thread, under the connection's lock.
    /// Returns true when the flush is done: the caller then calls <see cref="SignalFlush"/> after leaving the lock.
    /// </summary>
    public bool OnWritable()
    {
        if (!_flushPending)
        {
            return false;
        }

        var outcome = SendBuffered();
        if (outcome == SendOutcome.WouldBlock)
        {
            return false;
        }

        if (outcome == SendOutcome.Sent)
        {
            Release();
        }

        return PrepareFlush(isCanceled: false, isCompleted: outcome == SendOutcome.Failed);
    }

    /// <summary>
    /// The connection was aborted: nothing more can be sent; a pending flush completes as "completed". Returns true
    /// when a flush is to be signalled (see <see cref="OnWritable"/>).
    /// </summary>
    public bool OnClosed()
    {
        _closed = true;
        return _flushPending && PrepareFlush(isCanceled: false, isCompleted: true);
    }

    /// <summary>Completes the flush prepared under the lock; outside the lock, since the application continues inline.</summary>
    public void SignalFlush()
    {
        _drained?.TrySetResult();
        _flush.SetResult(_ready);
    }

    /// <summary>Completes when nothing written is left unsent (or it can no longer be sent).</summary>
    public Task WhenDrainedAsync()
    {
        lock (connection.Sync)
        {
            if (_closed || _written == _sent)
            {
                return Task.CompletedTask;
            }

            // Written but never flushed: send it now, as a flush would.
            if (!_flushPending && SendOrWait() != SendOutcome.WouldBlock)
            {
                return Task.CompletedTask;
            }

            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _drained.Task;
        }
    }

    public override void CancelPendingFlush()
    {
        bool signal;
        lock (connection.Sync)
        {
            signal = _flushPending && PrepareFlush(isCanceled: true, isCompleted: false);
        }

        if (signal)
        {
            SignalFlush();
        }
    }

    public override void Complete(Exception? exception = null)
    {
        // Data still unsent is drained by the connection's disposal (WhenDrainedAsync); nothing more is accepted.
    }

    FlushResult IValueTaskSource<FlushResult>.GetResult(short token) => _flush.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) => _flush.GetStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _flush.OnCompleted(continuation, state, token, flags);

    /// <summary>Sends what is buffered; when the socket is full, arms a pending flush and watches for writability.</summary>
    private SendOutcome SendOrWait()
    {
        var outcome = SendBuffered();
        if (outcome == SendOutcome.Sent)
        {
            Release();
        }
        else if (outcome == SendOutcome.WouldBlock)
        {
            lock (connection.Sync)
            {
                _flush.Reset();
                _flushPending = true;
                connection.UpdateWatch();
            }
        }

        return outcome;
    }

    /// <summary>Under the lock: ends the pending flush; <see cref="SignalFlush"/> delivers the result. Always true.</summary>
    private bool PrepareFlush(bool isCanceled, bool isCompleted)
    {
        _flushPending = false;
        connection.UpdateWatch();
        _ready = new FlushResult(isCanceled, isCompleted);
        return true;
    }

    private byte[] Reserve(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(needed, MinimumBufferSize));
        }
        else if (_buffer.Length - _written < needed)
        {
            // Grow, keeping the unsent bytes at the front.
            var unsent = _written - _sent;
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, unsent + needed));
            _buffer.AsSpan(_sent, unsent).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            (_buffer, _sent, _written) = (larger, 0, unsent);
        }

        return _buffer;
    }

    /// <summary>Everything was sent: the buffer goes back to the pool.</summary>
    private void Release()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            (_buffer, _sent, _written) = (null, 0, 0);
        }
    }

    private unsafe SendOutcome SendBuffered()
    {
        while (_sent < _written)
        {
            nint sent;
            fixed (byte* pointer = &_buffer![_sent])
            {
                sent = EpollInterop.send(fd, pointer, _written - _sent, EpollInterop.MsgNoSignal);
            }

            if (sent >= 0)
            {
                _sent += (int)sent;
                continue;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == EpollInterop.EAgain)
            {
                return SendOutcome.WouldBlock;
            }

            if (errno != EpollInterop.EIntr)
            {
                _closed = true;
                Release();
                return SendOutcome.Failed;
            }
        }

        return SendOutcome.Sent;
    }

    private enum SendOutcome
    {
        Sent,
        WouldBlock,
        Failed,
    }
}
