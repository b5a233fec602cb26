using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Tasks.Sources;

namespace Mcpd.Server.Transport;

/// <summary>
/// The input side of an <see cref="EpollConnection"/>: a <see cref="PipeReader"/> over one pooled buffer that the loop
/// receives into. The buffer is rented when bytes arrive and returned when the application has consumed them all, so
/// an idle connection holds none. A pending read completes inline on the loop thread as soon as bytes arrive.
/// Invariants (under the connection's lock): unconsumed bytes are <c>[_start, _end)</c>; while the application holds
/// a result (between a read and AdvanceTo) the loop only appends after <c>_end</c> and never moves bytes; at
/// <c>maxBufferSize</c> unconsumed bytes (at least the largest frame a protocol accepts) the loop stops receiving until the application consumes some
/// (backpressure reaches the peer through TCP).
/// </summary>
internal sealed class EpollSocketReader(EpollConnection connection, int maxBufferSize) : PipeReader, IValueTaskSource<ReadResult>
{
    /// <summary>First buffer size; a Modbus ADU is at most 260 bytes.</summary>
    private const int InitialBufferSize = 4096;

    private byte[]? _buffer;
    private int _start;
    private int _end;
    private int _examined;
    private bool _holding;
    private bool _ended;
    private Exception? _error;
    private bool _completed;
    private bool _cancelNext;
    private bool _readPending;
    private CancellationTokenRegistration _cancellation;
    private ReadOnlySequence<byte> _held;
    private ReadResult _ready;
    private Exception? _readyError;
    private ManualResetValueTaskSourceCore<ReadResult> _read;

    /// <summary>True when the loop may receive: the application still reads and there is, or can be made, room.</summary>
    public bool CanReceive => !_completed && !_ended
        && (_buffer is null || _end < _buffer.Length || (!_holding && (_start > 0 || _buffer.Length < maxBufferSize)));

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        lock (connection.Sync)
        {
            if (TryTakeResult(out var result))
            {
                return new ValueTask<ReadResult>(result);
            }

            cancellationToken.ThrowIfCancellationRequested();
            _read.Reset();
            _readPending = true;
            if (cancellationToken.CanBeCanceled)
            {
                _cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((EpollSocketReader)state!).CancelRead(token), this);
            }

            connection.UpdateWatch();
            return new ValueTask<ReadResult>(this, _read.Version);
        }
    }

    public override bool TryRead(out ReadResult result)
    {
        lock (connection.Sync)
        {
            return TryTakeResult(out result);
        }
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        lock (connection.Sync)
        {
            if (!_holding)
            {
                throw new InvalidOperationException("AdvanceTo was called without a read result to advance.");
            }

            var consumedOffset = _start + (int)_held.Slice(_held.Start, consumed).Length;
            var examinedOffset = _start + (int)_held.Slice(_held.Start, examined).Length;
            _holding = false;
            _held = default;
            _start = consumedOffset;
            _examined = Math.Max(examinedOffset, consumedOffset);
            if (_start == _end)
            {
                Release();
            }

            connection.UpdateWatch();
        }
    }

    public override void CancelPendingRead()
    {
        bool signal;
        lock (connection.Sync)
        {
            signal = _readPending && PrepareRead(isCanceled: true);
            _cancelNext |= !signal;
        }

        if (signal)
        {
            SignalRead();
        }
    }

    public override void Complete(Exception? exception = null)
    {
        lock (connection.Sync)
        {
            _completed = true;
            _holding = false;
            _held = default;
            Release();
            connection.UpdateWatch();
        }
    }

    /// <summary>Free space for the next recv, making room by compacting or growing when allowed. Loop thread, under the lock.</summary>
    public Memory<byte> ReserveForReceive()
    {
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferSize);
        }
        else if (_end == _buffer.Length && !_holding)
        {
            var unconsumed = _end - _start;
            var target = _start > 0 ? _buffer : ArrayPool<byte>.Shared.Rent(Math.Min(_buffer.Length * 2, maxBufferSize));
            _buffer.AsSpan(_start, unconsumed).CopyTo(target);
            if (target != _buffer)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = target;
            }

            _examined -= _start;
            (_start, _end) = (0, unconsumed);
        }

        return _buffer.AsMemory(_end);
    }

    /// <summary>
    /// Bytes arrived in the reserved space. Returns true when a waiting read is now ready: the caller then calls
    /// <see cref="SignalRead"/> after leaving the lock.
    /// </summary>
    public bool OnReceived(int count)
    {
        _end += count;
        return _readPending && PrepareRead(isCanceled: false);
    }

    /// <summary>
    /// The peer closed (null) or the connection failed: the application reads what is left, then the end. Returns
    /// true when a waiting read is now ready (see <see cref="OnReceived"/>).
    /// </summary>
    public bool OnEnded(Exception? error)
    {
        _ended = true;
        _error ??= error;
        return _readPending && PrepareRead(isCanceled: false);
    }

    /// <summary>
    /// Completes the read prepared under the lock. Called outside the lock: the application's continuation runs
    /// inline here, and it may dispose a registration whose callback is waiting for that lock.
    /// </summary>
    public void SignalRead()
    {
        var (result, error) = (_ready, _readyError);
        (_ready, _readyError) = (default, null);
        if (error is not null)
        {
            _read.SetException(error);
        }
        else
        {
            _read.SetResult(result);
        }
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    /// <summary>A result is ready when bytes beyond the examined point arrived, the input ended, or a cancel is due.</summary>
    private bool TryTakeResult(out ReadResult result)
    {
        if (_completed)
        {
            throw new InvalidOperationException("The reader was completed.");
        }

        if (_holding || _readPending)
        {
            throw new InvalidOperationException("A read is already outstanding; call AdvanceTo first.");
        }

        if (_cancelNext || _end > _examined || _ended)
        {
            var canceled = _cancelNext;
            _cancelNext = false;
            result = TakeResult(canceled);
            return true;
        }

        result = default;
        return false;
    }

    private ReadResult TakeResult(bool isCanceled)
    {
        if (_error is not null && !isCanceled)
        {
            throw _error;
        }

        _holding = true;
        _held = _buffer is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_buffer, _start, _end - _start);
        // Holding may leave no room to receive into: stop watching input, or level-triggered EPOLLIN would spin.
        connection.UpdateWatch();
        return new ReadResult(_held, isCanceled, isCompleted: _ended);
    }

    /// <summary>Under the lock: takes the pending read's outcome; <see cref="SignalRead"/> delivers it. Always true.</summary>
    private bool PrepareRead(bool isCanceled)
    {
        _readPending = false;
        // Unregister, not Dispose: Dispose would wait for a callback that needs the lock this thread holds.
        _cancellation.Unregister();
        _cancellation = default;
        if (_error is not null && !isCanceled)
        {
            _readyError = _error;
        }
        else
        {
            _ready = TakeResult(isCanceled);
        }

        return true;
    }

    private void CancelRead(CancellationToken token)
    {
        lock (connection.Sync)
        {
            if (!_readPending)
            {
                return;
            }

            _readPending = false;
            _readyError = new OperationCanceledException(token);
        }

        SignalRead();
    }

    private void Release()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            (_buffer, _start, _end, _examined) = (null, 0, 0, 0);
        }
    }
}
