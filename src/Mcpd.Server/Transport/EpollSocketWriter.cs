using System.Diagnostics.CodeAnalysis;
using System.IO.Pipelines;
using System.Threading.Tasks.Sources;

namespace Mcpd.Server.Transport;

/// <summary>
/// The output side of an <see cref="EpollConnection"/>: a <see cref="PipeWriter"/> that sends straight to the socket
/// when flushed, from one pooled buffer that is rented on the first write and returned once everything is sent, so an
/// idle connection holds no buffer. When the socket buffer is full the flush stays pending until the loop reports the
/// socket writable and sends the rest.
/// Invariants: every send goes through <see cref="EpollConnection.Send"/> under the connection's lock, after checking
/// <see cref="_closed"/> there (set before the socket is disposed), whoever asks (a flush, the loop, the final drain);
/// the application thread owns <c>[_written, end)</c> of the buffer, the sender <c>[_sent, _written)</c>; the buffer
/// moves or returns to the pool only under the lock and never while the application may hold a span of it.
/// Contract, as System.IO.Pipelines' Pipe: after <see cref="Complete"/>, GetMemory/GetSpan throw
/// InvalidOperationException, Advance and FlushAsync do nothing (FlushAsync reports IsCompleted), and what was written
/// before it is still sent by the connection's disposal; one flush at a time (a second one while the first is pending
/// throws); CancelPendingFlush ends the pending flush, or else the next one, with IsCanceled once.
/// </summary>
internal sealed class EpollSocketWriter : PipeWriter, IValueTaskSource<FlushResult>
{
    private const int MinimumBufferSize = 4096;

    private readonly EpollConnection _connection;
    private byte[]? _buffer;
    private int _sent;
    private int _written;
    private volatile bool _completed;
    private bool _closed;
    private bool _cancelNext;
    private TaskCompletionSource? _drained;
    private readonly bool _continueOnThreadPool;

    /// <summary>
    /// The flush that waits for the socket to become writable, made the first time one has to (a peer that reads more
    /// slowly than it is answered): an idle connection, or one whose answers always fit the socket buffer, keeps none.
    /// </summary>
    private PendingFlush? _flush;

    public EpollSocketWriter(EpollConnection connection, ApplicationScheduling scheduling)
    {
        _connection = connection;
        _continueOnThreadPool = scheduling == ApplicationScheduling.ThreadPool;
    }

    /// <summary>True while unsent output waits for the socket to become writable (a pending flush or the final drain).</summary>
    public bool WaitingForWritable => IsFlushPending || _drained is not null;

    private bool IsFlushPending => _flush is { Completion.IsPending: true };

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _written - _sent;

    public override Memory<byte> GetMemory(int sizeHint = 0) => Reserve(sizeHint).AsMemory(_written);

    public override Span<byte> GetSpan(int sizeHint = 0) => Reserve(sizeHint).AsSpan(_written);

    public override void Advance(int bytes)
    {
        if (_completed)
        {
            // As Pipe: a write that began before Complete ends silently; its bytes are never sent.
            return;
        }

        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bytes, (_buffer?.Length ?? 0) - _written);
        // Published after the bytes: a sender reading _written under the lock sends only bytes already written.
        Volatile.Write(ref _written, _written + bytes);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        lock (_connection.Sync)
        {
            if (IsFlushPending)
            {
                ThrowFlushPending();
            }

            var canceled = _cancelNext;
            _cancelNext = false;
            if (_completed)
            {
                // Whatever was written before Complete is the final drain's to send.
                return new ValueTask<FlushResult>(new FlushResult(canceled, isCompleted: true));
            }

            var outcome = SendLocked();
            if (outcome != SendOutcome.WouldBlock)
            {
                // All sent, or never to be sent: this thread holds no span, the buffer goes back to the pool.
                Release();
            }

            if (outcome != SendOutcome.WouldBlock || canceled)
            {
                // Canceled with bytes left: they stay buffered until the next flush or the connection's disposal.
                return new ValueTask<FlushResult>(new FlushResult(canceled, isCompleted: outcome == SendOutcome.Closed));
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<FlushResult>(cancellationToken);
            }

            _flush ??= new PendingFlush(_continueOnThreadPool);
            _flush.Completion.Begin(static (state, token) => ((EpollSocketWriter)state!).CancelFlush(token), this, cancellationToken);
            _connection.UpdateWatch();
            return new ValueTask<FlushResult>(this, _flush.Completion.Version);
        }
    }

    /// <summary>
    /// The socket is writable (or failed): sends what waits. Loop thread, under the connection's lock. Returns true
    /// when a flush is done: the caller then calls <see cref="SignalFlush"/> after leaving the lock.
    /// </summary>
    public bool OnWritable()
    {
        if (!WaitingForWritable)
        {
            return false;
        }

        var outcome = SendLocked();
        return outcome != SendOutcome.WouldBlock && EndWaiting(canceled: false, isCompleted: outcome == SendOutcome.Closed);
    }

    /// <summary>
    /// Nothing more can be sent (the connection was aborted or is being disposed): a pending flush completes as
    /// "completed", a waiting drain ends. Under the lock; returns true when a flush is to be signalled.
    /// </summary>
    public bool OnClosed()
    {
        // The buffer stays: a late writer that took a span before Complete may still be writing into it. The
        // application's next flush returns it to the pool, or it goes with the connection.
        _closed = true;
        return EndWaiting(canceled: false, isCompleted: true);
    }

    /// <summary>Completes the flush prepared under the lock; outside the lock, since the application may continue inline.</summary>
    public void SignalFlush() => _flush!.Completion.Signal();

    /// <summary>
    /// After <see cref="Complete"/>: sends what is still unsent, completing when nothing is left (or nothing more
    /// can be sent). Same send path as a flush; a full socket buffer leaves the rest to the loop.
    /// </summary>
    public Task WhenDrainedAsync()
    {
        lock (_connection.Sync)
        {
            // A pending flush is already waiting for writability; otherwise the unsent rest is sent now.
            if (!IsFlushPending && SendLocked() != SendOutcome.WouldBlock)
            {
                return Task.CompletedTask;
            }

            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _connection.UpdateWatch();
            return _drained.Task;
        }
    }

    public override void CancelPendingFlush()
    {
        bool signal;
        lock (_connection.Sync)
        {
            signal = IsFlushPending && _flush!.Completion.Prepare(new FlushResult(isCanceled: true, isCompleted: false));
            _cancelNext |= !signal && !_completed;
            _connection.UpdateWatch();
        }

        if (signal)
        {
            SignalFlush();
        }
    }

    public override void Complete(Exception? exception = null) => _completed = true;

    FlushResult IValueTaskSource<FlushResult>.GetResult(short token)
    {
        var result = _flush!.Completion.GetResult(token);
        lock (_connection.Sync)
        {
            // The application is back from its flush and holds no span: the buffer may go back to the pool.
            if (_sent == _written && !_completed)
            {
                Release();
            }
        }

        return result;
    }

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) => _flush!.Completion.GetStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _flush!.Completion.OnCompleted(continuation, state, token, flags);

    /// <summary>Under the lock: nothing waits for writability any more; prepares a pending flush's result. True when one is to be signalled.</summary>
    private bool EndWaiting(bool canceled, bool isCompleted)
    {
        _drained?.TrySetResult();
        _drained = null;
        var signal = IsFlushPending && _flush!.Completion.Prepare(new FlushResult(canceled, isCompleted));
        _connection.UpdateWatch();
        return signal;
    }

    private void CancelFlush(CancellationToken token)
    {
        lock (_connection.Sync)
        {
            if (!IsFlushPending)
            {
                return;
            }

            _flush!.Completion.PrepareError(new OperationCanceledException(token));
            _connection.UpdateWatch();
        }

        SignalFlush();
    }

    private byte[] Reserve(int sizeHint)
    {
        if (_completed)
        {
            ThrowWritingAfterComplete();
        }

        // Only this (the writing) thread assigns _buffer; a sender reads it only while bytes are unsent.
        var needed = Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            return _buffer = TransportBuffers.Rent(Math.Max(needed, MinimumBufferSize));
        }

        if (_buffer.Length - _written >= needed)
        {
            return _buffer;
        }

        // Growing moves unsent bytes, which a sender may be reading: under the lock.
        lock (_connection.Sync)
        {
            // Grow, keeping the unsent bytes at the front.
            var unsent = _written - _sent;
            var larger = TransportBuffers.Rent(Math.Max(_buffer.Length * 2, unsent + needed));
            _buffer.AsSpan(_sent, unsent).CopyTo(larger);
            TransportBuffers.Return(_buffer);
            (_buffer, _sent, _written) = (larger, 0, unsent);
            return larger;
        }
    }

    /// <summary>Everything was sent: the buffer goes back to the pool. Under the lock, on the writing thread.</summary>
    private void Release()
    {
        if (_buffer is not null)
        {
            TransportBuffers.Return(_buffer);
            (_buffer, _sent, _written) = (null, 0, 0);
        }
    }

    /// <summary>The one place that sends: what is written and unsent, until done or the socket buffer is full. Under the lock.</summary>
    private SendOutcome SendLocked()
    {
        if (_closed)
        {
            return SendOutcome.Closed;
        }

        var written = Volatile.Read(ref _written);
        while (_sent < written)
        {
            var sent = _connection.Send(_buffer.AsSpan(_sent, written - _sent), out var wouldBlock);
            if (sent > 0)
            {
                _sent += sent;
            }
            else if (wouldBlock)
            {
                return SendOutcome.WouldBlock;
            }
            else
            {
                // The peer reset or the connection is gone: nothing written from now on can be sent.
                _closed = true;
                return SendOutcome.Closed;
            }
        }

        return SendOutcome.Sent;
    }

    [DoesNotReturn]
    private static void ThrowWritingAfterComplete() => throw new InvalidOperationException("Writing is not allowed after writer was completed.");

    [DoesNotReturn]
    private static void ThrowFlushPending() => throw new InvalidOperationException("A flush is already pending; await it before flushing again.");

    /// <summary>A flush's completion, in an object of its own so that a connection that never waits to send keeps none.</summary>
    private sealed class PendingFlush
    {
        public PendingCompletion<FlushResult> Completion;

        public PendingFlush(bool continueOnThreadPool) => Completion.RunContinuationsAsynchronously = continueOnThreadPool;
    }

    private enum SendOutcome
    {
        Sent,
        WouldBlock,
        Closed,
    }
}
