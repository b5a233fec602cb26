using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Threading.Tasks.Sources;

namespace Mcpd.Server.Transport;

/// <summary>
/// The input side of an <see cref="EpollConnection"/>: a <see cref="PipeReader"/> over one pooled buffer (<see cref="TransportBuffers"/>) that the loop
/// receives into. The buffer is rented when bytes arrive and returned when the application has consumed them all, so
/// an idle connection holds none. A pending read completes as soon as bytes arrive, inline on the loop thread or on
/// the thread pool (<see cref="ApplicationScheduling"/>).
/// Invariants (under the connection's lock): unconsumed bytes are <c>[_start, _end)</c>; while the application holds
/// a result (between a read and AdvanceTo) the loop only appends after <c>_end</c> and never moves bytes; at
/// <c>maxBufferSize</c> unconsumed bytes (at least the largest frame a protocol accepts) the loop stops receiving until
/// the application consumes some (backpressure reaches the peer through TCP).
/// Contract, as System.IO.Pipelines' Pipe: one read at a time, each followed by AdvanceTo; examined bytes are returned
/// again only with more data, the end of the stream or a cancellation; nothing is read after <see cref="Complete"/>.
/// </summary>
internal sealed class EpollSocketReader : PipeReader, IValueTaskSource<ReadResult>
{
    /// <summary>
    /// First buffer size: a Modbus ADU is at most 260 bytes, and a batch of pipelined requests or small MCP frames
    /// fits; more input grows it by doubling. Small on purpose: when many clients connect at once, bytes often arrive
    /// before a connection's handler first reads, and each such connection holds its buffer meanwhile; what the shared
    /// pool cannot keep afterwards is garbage (4 KiB buffers made about 0.5 KB of it per connection at 10,000).
    /// </summary>
    private const int InitialBufferSize = 1024;

    private readonly EpollConnection _connection;
    private readonly int _maxBufferSize;
    private byte[]? _buffer;
    private int _start;
    private int _end;
    private int _examined;
    private bool _holding;
    private bool _ended;
    private Exception? _error;
    private bool _completed;
    private bool _cancelNext;

    /// <summary>
    /// Set by the application's first read. Until then nothing is received: bytes that arrive before the connection's
    /// handler runs wait in the socket, not in a buffer of ours (many clients connecting at once would otherwise each
    /// hold one, and leave it to the GC afterwards).
    /// </summary>
    private bool _reading;

    /// <summary>
    /// While the application holds a result: the end of its bytes, <c>[_start, _heldEnd)</c> of <see cref="_buffer"/>
    /// (neither moves until its AdvanceTo), or -1 when it holds an empty result without a buffer. The sequence itself
    /// is made again where needed (<see cref="Held"/>): an int, not 24 bytes, in every connection.
    /// </summary>
    private int _heldEnd;

    /// <summary>
    /// The pending read. It carries only the result's two flags: the buffer of the result is <see cref="Held"/>, set
    /// with them under the lock, so the waiting read of an idle connection does not keep a second copy of it.
    /// </summary>
    private PendingCompletion<ReadFlags> _read;

    public EpollSocketReader(EpollConnection connection, int maxBufferSize, ApplicationScheduling scheduling)
    {
        _connection = connection;
        _maxBufferSize = maxBufferSize;
        _read.RunContinuationsAsynchronously = scheduling == ApplicationScheduling.ThreadPool;
    }

    /// <summary>True when the loop may receive: the application reads, and there is, or can be made, room.</summary>
    public bool CanReceive => _reading && !_completed && !_ended
        && (_buffer is null || _end < _buffer.Length || (!_holding && (_start > 0 || _buffer.Length < _maxBufferSize)));

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        lock (_connection.Sync)
        {
            if (TryTakeResult(out var result))
            {
                return new ValueTask<ReadResult>(result);
            }

            cancellationToken.ThrowIfCancellationRequested();
            _read.Begin(static (state, token) => ((EpollSocketReader)state!).CancelRead(token), this, cancellationToken);
            _reading = true;
            _connection.UpdateWatch();
            return new ValueTask<ReadResult>(this, _read.Version);
        }
    }

    public override bool TryRead(out ReadResult result)
    {
        lock (_connection.Sync)
        {
            if (!_reading)
            {
                _reading = true;
                _connection.UpdateWatch();
            }

            return TryTakeResult(out result);
        }
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        lock (_connection.Sync)
        {
            ThrowIfCompleted();
            if (!_holding)
            {
                ThrowNoReadToComplete();
            }

            // A position outside the held buffer (past its end, or from an earlier read) throws ArgumentOutOfRangeException here.
            var held = Held;
            var consumedOffset = _start + (int)held.Slice(held.Start, consumed).Length;
            var examinedOffset = _start + (int)held.Slice(held.Start, examined).Length;
            if (examinedOffset < consumedOffset)
            {
                ThrowExaminedBeforeConsumed();
            }

            _holding = false;
            _start = consumedOffset;
            _examined = examinedOffset;
            if (_start == _end)
            {
                Release();
            }

            _connection.UpdateWatch();
        }
    }

    public override void CancelPendingRead()
    {
        bool signal;
        lock (_connection.Sync)
        {
            signal = _read.IsPending && PrepareRead(isCanceled: true);
            _cancelNext |= !signal && !_completed;
        }

        if (signal)
        {
            _read.Signal();
        }
    }

    public override void Complete(Exception? exception = null)
    {
        lock (_connection.Sync)
        {
            _completed = true;
            _holding = false;
            Release();
            _connection.UpdateWatch();
        }
    }

    /// <summary>Free space for the next recv, making room by compacting or growing when allowed. Loop thread, under the lock.</summary>
    public Memory<byte> ReserveForReceive()
    {
        if (_buffer is null)
        {
            _buffer = TransportBuffers.Rent(InitialBufferSize);
        }
        else if (_end == _buffer.Length && !_holding)
        {
            var unconsumed = _end - _start;
            var target = _start > 0 ? _buffer : TransportBuffers.Rent(Math.Min(_buffer.Length * 2, _maxBufferSize));
            _buffer.AsSpan(_start, unconsumed).CopyTo(target);
            if (target != _buffer)
            {
                TransportBuffers.Return(_buffer);
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
        return _read.IsPending && PrepareRead(isCanceled: false);
    }

    /// <summary>
    /// The peer closed (null) or the connection failed: the application reads what is left, then the end. Returns
    /// true when a waiting read is now ready (see <see cref="OnReceived"/>).
    /// </summary>
    public bool OnEnded(Exception? error)
    {
        _ended = true;
        _error ??= error;
        return _read.IsPending && PrepareRead(isCanceled: false);
    }

    /// <summary>
    /// Completes the read prepared under the lock. Called outside the lock: the application's continuation may run
    /// inline here, and it may dispose a registration whose callback is waiting for that lock.
    /// </summary>
    public void SignalRead() => _read.Signal();

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token)
    {
        // What is held stays as prepared until the application's AdvanceTo, which comes after this.
        var flags = _read.GetResult(token);
        return new ReadResult(Held, flags.IsCanceled, flags.IsCompleted);
    }

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    /// <summary>A result is ready when bytes beyond the examined point arrived, the input ended, or a cancel is due.</summary>
    private bool TryTakeResult(out ReadResult result)
    {
        ThrowIfCompleted();
        if (_holding || _read.IsPending)
        {
            throw new InvalidOperationException("Reading is already in progress.");
        }

        if (_cancelNext || _end > _examined || _ended)
        {
            var canceled = _cancelNext;
            _cancelNext = false;
            var flags = Hold(canceled);
            result = new ReadResult(Held, flags.IsCanceled, flags.IsCompleted);
            return true;
        }

        result = default;
        return false;
    }

    /// <summary>The bytes the application holds (see <see cref="_heldEnd"/>). Under the lock, or after its read completed.</summary>
    private ReadOnlySequence<byte> Held =>
        _heldEnd < 0 ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_buffer!, _start, _heldEnd - _start);

    /// <summary>Hands the unconsumed bytes to the application (<see cref="Held"/>) until its AdvanceTo; returns the result's flags.</summary>
    private ReadFlags Hold(bool isCanceled)
    {
        if (_error is not null && !isCanceled)
        {
            throw _error;
        }

        _holding = true;
        _heldEnd = _buffer is null ? -1 : _end;
        // Holding may leave no room to receive into: stop watching input, or level-triggered EPOLLIN would spin.
        _connection.UpdateWatch();
        return new ReadFlags(isCanceled, IsCompleted: _ended);
    }

    /// <summary>Under the lock: takes the pending read's outcome; <see cref="SignalRead"/> delivers it. Always true.</summary>
    private bool PrepareRead(bool isCanceled) =>
        _error is not null && !isCanceled ? _read.PrepareError(_error) : _read.Prepare(Hold(isCanceled));

    private void CancelRead(CancellationToken token)
    {
        lock (_connection.Sync)
        {
            if (!_read.IsPending)
            {
                return;
            }

            _read.PrepareError(new OperationCanceledException(token));
        }

        _read.Signal();
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("Reading is not allowed after reader was completed.");
        }
    }

    [DoesNotReturn]
    private static void ThrowNoReadToComplete() => throw new InvalidOperationException("No reading operation to complete.");

    [DoesNotReturn]
    private static void ThrowExaminedBeforeConsumed() =>
        throw new InvalidOperationException("The examined position must be greater than or equal to the consumed position.");

    /// <summary>What a read result says besides its buffer.</summary>
    private readonly record struct ReadFlags(bool IsCanceled, bool IsCompleted);

    private void Release()
    {
        if (_buffer is not null)
        {
            TransportBuffers.Return(_buffer);
            (_buffer, _start, _end, _examined) = (null, 0, 0, 0);
        }
    }
}
