using System.Buffers;
using System.IO.Pipelines;
using Mcpd.Client;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Mcpd.Server.Connections;

/// <summary>
/// The read loop every protocol connection shares (architecture guide): read, answer every complete frame of the
/// read in one batch, one flush, one AdvanceTo. Requests that complete synchronously are answered inside the batch;
/// asynchronous ones hold an in-flight slot and write their answer later under the same write lock. On shutdown
/// the loop answers what it has read, waits for the in-flight work, then says goodbye if the protocol has a way to.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "The write lock is never disposed, on purpose: see _writeLock.")]
internal abstract class ProtocolConnection : IBatchFlushable
{
    private readonly TrackedConnection _tracked;
    private readonly ConnectionRegistry _connections;
    private readonly int _maxInFlight;

    /// <summary>
    /// Serialises writes of the read loop and of asynchronous completions to the output. Never disposed: a late writer
    /// (a server call racing the close) must still be able to take and release it; the output then refuses the write.
    /// </summary>
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private TaskCompletionSource? _drained;

    /// <summary>
    /// Set under the write lock once the connection is over: a writer that comes later (a server call or an answer
    /// racing the close) is refused there, before it touches an output the transport may complete at any moment.
    /// </summary>
    private bool _outputClosed;
    private TaskCompletionSource? _slotFreed;
    private int _inFlight;
    private bool _frameSeen;
    private int _draining;

    /// <summary>Wakes the read loop for <see cref="RevisitInputAfter"/>; created the first time a protocol asks.</summary>
    private ITimer? _revisitTimer;
    private int _revisitDue;

    protected ProtocolConnection(ConnectionContext context, TrackedConnection tracked, ConnectionRegistry connections, TimeProvider time, int maxInFlight)
    {
        Context = context;
        Output = context.Transport.Output;
        _tracked = tracked;
        _connections = connections;
        Clock = time;
        _maxInFlight = maxInFlight;
    }

    protected ConnectionContext Context { get; }

    /// <summary>Kestrel's connection id, the one in log lines.</summary>
    internal string ConnectionId => Context.ConnectionId;

    /// <summary>The token for request work: cancelled when nobody is left to answer, not at a half-close (<see cref="TrackedConnection.RequestsAborted"/>).</summary>
    internal CancellationToken RequestsAborted => _tracked.RequestsAborted;

    protected PipeWriter Output { get; }

    protected TimeProvider Clock { get; }

    /// <summary>Requests that may run asynchronously at once (the in-flight limit).</summary>
    internal int MaxInFlight => _maxInFlight;

    /// <summary>True when another request may start (asynchronous requests running below the limit).</summary>
    protected bool HasFreeSlot => Volatile.Read(ref _inFlight) < _maxInFlight;

    /// <summary>
    /// True: at the in-flight limit the loop stops reading until a request completes (MCP backpressure).
    /// False: the protocol answers the excess itself (Modbus exception 06).
    /// </summary>
    protected abstract bool PausesReadingWhenBusy { get; }

    public async Task RunAsync()
    {
        var input = Context.Transport.Input;
        var lifetime = Context.Features.Get<IConnectionLifetimeNotificationFeature>();
        using var closing = lifetime?.ConnectionClosedRequested.UnsafeRegister(static state => ((PipeReader)state!).CancelPendingRead(), input);
        var shuttingDown = false;
        try
        {
            while (true)
            {
                if (PausesReadingWhenBusy && !HasFreeSlot && !ReadsWhileBusy)
                {
                    await WaitForSlotAsync();
                }

                if (ReadPause > TimeSpan.Zero && !ReadsWhileBusy)
                {
                    await Task.Delay(ReadPause, Clock);
                }

                var result = await input.ReadAsync();
                var buffer = result.Buffer;

                await _writeLock.WaitAsync();
                bool keepOpen;
                bool paused;
                bool answeredNow;
                SequencePosition consumed;
                try
                {
                    // Requests sent on to upstream devices while answering leave together, at the end of the batch.
                    using (FlushBatch.Begin())
                    {
                        keepOpen = AnswerBatch(buffer, out consumed, out var answered, out paused);
                        answeredNow = answered;
                    }

                    if (_frameSeen)
                    {
                        // Alive by complete frames, not by bytes: a peer trickling a frame that never completes is idle.
                        _frameSeen = false;
                        _tracked.Touch(Clock);
                    }

                    shuttingDown = result.IsCanceled && lifetime?.ConnectionClosedRequested.IsCancellationRequested == true;
                    if (answeredNow)
                    {
                        await Output.FlushAsync();
                    }
                }
                finally
                {
                    _writeLock.Release();
                }

                // Stopped for a free slot, the rest of the read is still to answer: examine only what was consumed, so
                // the next read returns it at once (even when the slot freed meanwhile).
                if (paused)
                {
                    input.AdvanceTo(consumed);
                }
                else
                {
                    input.AdvanceTo(consumed, buffer.End);
                }
                if (!keepOpen || result.IsCompleted || (result.IsCanceled && (shuttingDown || Interlocked.Exchange(ref _revisitDue, 0) == 0)))
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or OperationCanceledException)
        {
            _tracked.AbortRequests();
            OnTransportEnded(ex.Message);
        }
        finally
        {
            _revisitTimer?.Dispose();

            // End of input (a half-close included) ends reading, not the connection: what was read is answered. The
            // drain is bounded by the requests' own deadlines, the idle timeout (the sweep aborts the requests) and, on
            // shutdown, by Kestrel's abort at the end of its shutdown timeout.
            OnInputEnded();
            using (shuttingDown ? Context.ConnectionClosed.UnsafeRegister(static tracked => ((TrackedConnection)tracked!).AbortRequests(), _tracked) : default)
            {
                await DrainAsync();
            }

            if (shuttingDown)
            {
                // After the requests in flight have answered: the goodbye is the last frame.
                await SayGoodbyeAsync();
            }

            await CloseOutputAsync();
            _connections.Remove(_tracked);
            OnClosed();
        }
    }

    private async Task CloseOutputAsync()
    {
        await _writeLock.WaitAsync();
        _outputClosed = true;
        _writeLock.Release();
    }

    /// <summary>
    /// Answers every complete frame of <paramref name="buffer"/> (under the write lock); returns false when the
    /// connection must close. <paramref name="consumed"/> ends after the last frame answered; <paramref name="paused"/>
    /// is true when it stopped before a whole frame for want of an in-flight slot.
    /// </summary>
    protected abstract bool AnswerBatch(ReadOnlySequence<byte> buffer, out SequencePosition consumed, out bool answered, out bool paused);

    /// <summary>
    /// True while the protocol must keep reading at the in-flight limit: MCP, while the server waits for this client's
    /// answers to its own calls (those answers arrive on the same input; a handler holding a slot may be waiting on one).
    /// </summary>
    protected virtual bool ReadsWhileBusy => false;

    /// <summary>A pause the protocol asks for before the next read (MCP: backoff of a connection refused OVERLOADED).</summary>
    protected virtual TimeSpan ReadPause => TimeSpan.Zero;

    /// <summary>
    /// A complete frame was read (answered or not): the connection counts as active for the idle timeout and the
    /// heartbeat (docs/protocol.md, "Heartbeat"). Bytes that complete no frame do not keep a connection alive.
    /// </summary>
    protected void FrameRead() => _frameSeen = true;

    /// <summary>
    /// Makes the read loop answer its input again after <paramref name="delay"/> even if no byte arrives: for a time
    /// bound on a frame that waits for its remainder (<see cref="AnswerBatch"/> then sees the same bytes, later).
    /// </summary>
    protected void RevisitInputAfter(TimeSpan delay)
    {
        _revisitTimer ??= Clock.CreateTimer(
            static state =>
            {
                var connection = (ProtocolConnection)state!;
                Volatile.Write(ref connection._revisitDue, 1);
                connection.Context.Transport.Input.CancelPendingRead();
            },
            this,
            Timeout.InfiniteTimeSpan,
            Timeout.InfiniteTimeSpan);
        _revisitTimer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// A complete request was read (a Modbus ADU, an MCP REQ or a client's answer to a call of the server): as
    /// <see cref="FrameRead"/>, and the connection counts as in use, which keeps it over idler ones when the listener is
    /// full (<see cref="ConnectionRegistry.TryAdmit"/>).
    /// </summary>
    protected void RequestRead()
    {
        _frameSeen = true;
        _tracked.RequestRead();
    }

    /// <summary>True when a line about this peer's misbehaviour may be written now (see <see cref="ConnectionRegistry.Rejections"/>).</summary>
    protected internal bool MayLogRejection() => _connections.Rejections.ShouldLog();

    /// <summary>Wakes a read loop waiting for a slot, so it re-checks <see cref="ReadsWhileBusy"/>.</summary>
    internal void WakeReader() => Volatile.Read(ref _slotFreed)?.TrySetResult();

    /// <summary>Writes the protocol's goodbye on graceful shutdown; returns true if it wrote anything.</summary>
    protected virtual bool WriteGoodbye() => false;

    /// <summary>Reading has stopped for good; the requests in flight are still to drain.</summary>
    protected virtual void OnInputEnded()
    {
    }

    /// <summary>The transport ended the connection (reset, abort).</summary>
    protected internal abstract void OnTransportEnded(string reason);

    /// <summary>The connection is over and forgotten.</summary>
    protected abstract void OnClosed();

    private async Task SayGoodbyeAsync()
    {
        await _writeLock.WaitAsync();
        try
        {
            if (WriteGoodbye())
            {
                await Output.FlushAsync();
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or InvalidOperationException)
        {
            OnTransportEnded(ex.Message);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>
    /// Writes outside the read loop (an answer that completed later, a request to the peer): <paramref name="write"/>
    /// runs under the write lock, then the output is flushed; once the connection is over it throws
    /// <see cref="ConnectionAbortedException"/> instead.
    /// </summary>
    internal async Task WriteAsync<TState>(TState state, Action<TState> write, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            if (_outputClosed)
            {
                throw new ConnectionAbortedException($"Connection {Context.ConnectionId} is closed.");
            }

            write(state);
            // An answer completed while its upstream's read is handled: flushed with the others of that read.
            if (!FlushBatch.TryDefer(this))
            {
                await Output.FlushAsync(cancellationToken);
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException)
        {
            // The peer is gone: the other requests in flight have nobody to answer either.
            _tracked.AbortRequests();
            throw;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Flushes the answers written in a batch (<see cref="FlushBatch"/>), under the write lock, as <see cref="WriteAsync"/> would have.</summary>
    void IBatchFlushable.FlushBatched() => _ = FlushDeferredAsync();

    private async Task FlushDeferredAsync()
    {
        await _writeLock.WaitAsync();
        try
        {
            if (!_outputClosed)
            {
                await Output.FlushAsync();
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or InvalidOperationException)
        {
            _tracked.AbortRequests();
            OnTransportEnded(ex.Message);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Takes an in-flight slot for a request that answers later; <see cref="EndInFlight"/> releases it.</summary>
    internal void BeginInFlight() => Interlocked.Increment(ref _inFlight);

    /// <summary>Releases the slot of an asynchronous request (once, in a finally).</summary>
    internal void EndInFlight()
    {
        // The connection is busy, not idle, while its requests run (heartbeat timeout counts silence of the peer).
        _tracked.Touch(Clock);
        var remaining = Interlocked.Decrement(ref _inFlight);
        Volatile.Read(ref _slotFreed)?.TrySetResult();
        if (remaining == 0 && Volatile.Read(ref _draining) == 1)
        {
            Volatile.Read(ref _drained)?.TrySetResult();
        }
    }

    private async Task WaitForSlotAsync()
    {
        while (!HasFreeSlot && !ReadsWhileBusy)
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // A full fence (Dekker): EndInFlight decrements, then reads the waiter; this publishes it, then re-reads the count.
            Interlocked.Exchange(ref _slotFreed, waiter);
            if (HasFreeSlot || ReadsWhileBusy)
            {
                return;
            }

            await waiter.Task;
        }
    }

    /// <summary>Waits for asynchronous requests still running; Kestrel's shutdown timeout bounds the wait.</summary>
    private Task DrainAsync()
    {
        Interlocked.Exchange(ref _draining, 1);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            return Task.CompletedTask;
        }

        // Allocated only when requests are still running; the second check closes the race with the last one.
        Interlocked.CompareExchange(ref _drained, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            _drained.TrySetResult();
        }

        return _drained.Task;
    }
}
