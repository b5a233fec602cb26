using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Mcpd.Client;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Mcpd.Server.Connections;

/// <summary>
/// The read loop every protocol connection shares (architecture guide): read, answer every complete frame of the
/// read in one batch, one flush, one AdvanceTo. Requests that complete synchronously are answered inside the batch;
/// asynchronous ones hold an in-flight slot and write their answer later under the same write lock. On shutdown
/// the loop answers what it has read, waits for the in-flight work, then says goodbye if the protocol has a way to.
/// It is the registry's <see cref="TrackedConnection"/> too: admitted (<see cref="ConnectionRegistry.TryAdmit"/>) before
/// it runs.
/// </summary>
internal abstract class ProtocolConnection : TrackedConnection, IBatchFlushable
{

    /// <summary>
    /// Serialises writes of the read loop and of asynchronous completions to the output. A late writer (a server call
    /// racing the close) can still take and leave it; the output then refuses the write (<see cref="_outputClosed"/>).
    /// </summary>
    private WriteLock _writeLock;

    /// <summary>
    /// Set under the write lock once the connection is over: a writer that comes later (a server call or an answer
    /// racing the close) is refused there, before it touches an output the transport may complete at any moment.
    /// </summary>
    private bool _outputClosed;
    private int _inFlight;
    private bool _frameSeen;

    /// <summary>See <see cref="AnsweredTimestamp"/>: -1 outside a batch, 0 in one before its first answer.</summary>
    private long _batchAnsweredAt = -1;

    /// <summary>The last read was cancelled by Kestrel's request to close: the connection ends with the protocol's goodbye.</summary>
    private bool _shuttingDown;

    /// <summary>Made the first time the loop has to wait for something other than input (see <see cref="Waits"/>).</summary>
    private Waits? _waits;

    /// <param name="context">The Kestrel connection.</param>
    /// <param name="listener">The listener that accepted it (<see cref="ListenerNames"/>).</param>
    /// <param name="idleTimeout">Silence after which the registry closes it; zero: never.</param>
    /// <param name="services">What the protocol's connections share (the registry that admits it, the clock).</param>
    protected ProtocolConnection(ConnectionContext context, string listener, TimeSpan idleTimeout, ProtocolServices services)
        : base(context, listener, idleTimeout, services.Time)
    {
        Output = context.Transport.Output;
    }

    /// <summary>Kestrel's connection id, the one in log lines.</summary>
    internal string ConnectionId => Context.ConnectionId;

    protected PipeWriter Output { get; }

    /// <summary>What the protocol's connections share; the protocol's own type, one reference in each connection.</summary>
    internal abstract ProtocolServices Services { get; }

    protected TimeProvider Clock => Services.Time;

    /// <summary>Requests that may run asynchronously at once (the in-flight limit).</summary>
    internal abstract int MaxInFlight { get; }

    /// <summary>True when another request may start (asynchronous requests running below the limit).</summary>
    protected bool HasFreeSlot => Volatile.Read(ref _inFlight) < MaxInFlight;

    /// <summary>
    /// True: at the in-flight limit the loop stops reading until a request completes (MCP backpressure).
    /// False: the protocol answers the excess itself (Modbus exception 06).
    /// </summary>
    protected abstract bool PausesReadingWhenBusy { get; }

    public async Task RunAsync()
    {
        try
        {
            // While idle the connection waits here, and this method's state is what it keeps: little besides the pending
            // read (no local that lives across it), since the batch's state lives in AnswerAsync, which completes first.
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

                if (!await AnswerAsync(await Context.Transport.Input.ReadAsync()))
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or OperationCanceledException)
        {
            AbortRequests();
            OnTransportEnded(ex.Message);
        }
        finally
        {
            await EndAsync();
        }
    }

    /// <summary>
    /// The <see cref="Stopwatch"/> timestamp at which the batch being answered began: the start of every request in
    /// it (the bytes had all arrived by then), so a batch costs one clock read for its requests' latency, not one each.
    /// </summary>
    internal long BatchStarted { get; private set; }

    /// <summary>
    /// When an answer written now counts as answered, for its latency: in a batch, read at its first answer and the
    /// same for the others, since they all leave together in the batch's one flush (a clock read per request was a
    /// measurable part of a pipelined request, docs/performance.md); outside a batch (an answer that came later), the
    /// clock now. Under the write lock, as every answer is written.
    /// </summary>
    internal long AnsweredTimestamp() => _batchAnsweredAt switch
    {
        < 0 => Stopwatch.GetTimestamp(),
        0 => _batchAnsweredAt = Stopwatch.GetTimestamp(),
        var answered => answered,
    };

    /// <summary>
    /// Answers what one read returned (under the write lock, one flush) and advances the input; false when the loop
    /// must end. Completes synchronously unless the write lock or the flush waits (pooled then: nothing allocated).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> AnswerAsync(ReadResult result)
    {
        var input = Context.Transport.Input;
        var buffer = result.Buffer;
        bool keepOpen;
        bool paused;
        SequencePosition consumed;
        await _writeLock.EnterAsync();
        try
        {
            bool answered;
            // Requests sent on to upstream devices while answering leave together, at the end of the batch.
            using (FlushBatch.Begin())
            {
                BatchStarted = Stopwatch.GetTimestamp();
                _batchAnsweredAt = 0;
                try
                {
                    keepOpen = AnswerBatch(buffer, out consumed, out answered, out paused);
                }
                finally
                {
                    _batchAnsweredAt = -1;
                }
            }

            if (_frameSeen)
            {
                // Alive by complete frames, not by bytes: a peer trickling a frame that never completes is idle.
                _frameSeen = false;
                Touch(Clock);
            }

            // A cancelled read is Kestrel's request to close (graceful shutdown, TrackedConnection.WakeOnCloseRequest), or RevisitInputAfter.
            _shuttingDown = result.IsCanceled && Context.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested.IsCancellationRequested == true;
            if (answered)
            {
                await Output.FlushAsync();
            }
        }
        finally
        {
            _writeLock.Exit();
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

        return keepOpen && !result.IsCompleted
            && !(result.IsCanceled && (_shuttingDown || Volatile.Read(ref _waits) is not { } waits || Interlocked.Exchange(ref waits.RevisitDue, 0) == 0));
    }

    /// <summary>
    /// After the read loop: end of input (a half-close included) ends reading, not the connection, so what was read is
    /// answered. The drain is bounded by the requests' own deadlines, the idle timeout (the sweep aborts the requests)
    /// and, on shutdown, by Kestrel's abort at the end of its shutdown timeout.
    /// </summary>
    private async Task EndAsync()
    {
        Volatile.Read(ref _waits)?.RevisitTimer?.Dispose();
        OnInputEnded();
        using (_shuttingDown ? Context.ConnectionClosed.UnsafeRegister(static connection => ((ProtocolConnection)connection!).AbortRequests(), this) : default)
        {
            await DrainAsync();
        }

        if (_shuttingDown)
        {
            // After the requests in flight have answered: the goodbye is the last frame.
            await SayGoodbyeAsync();
        }

        await CloseOutputAsync();
        Services.Connections.Remove(this);
        OnClosed();
    }

    private async Task CloseOutputAsync()
    {
        await _writeLock.EnterAsync();
        _outputClosed = true;
        _writeLock.Exit();
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
        var waits = WaitsNow;
        waits.RevisitTimer ??= Clock.CreateTimer(
            static state =>
            {
                var connection = (ProtocolConnection)state!;
                Volatile.Write(ref connection._waits!.RevisitDue, 1);
                connection.Context.Transport.Input.CancelPendingRead();
            },
            this,
            Timeout.InfiniteTimeSpan,
            Timeout.InfiniteTimeSpan);
        waits.RevisitTimer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// A complete request was read (a Modbus ADU, an MCP REQ or a client's answer to a call of the server): as
    /// <see cref="FrameRead"/>, and the connection counts as in use, which keeps it over idler ones when the listener is
    /// full (<see cref="ConnectionRegistry.TryAdmit"/>).
    /// </summary>
    protected void RequestRead()
    {
        _frameSeen = true;
        NoteRequest();
    }

    /// <summary>True when a line about this peer's misbehaviour may be written now (see <see cref="ConnectionRegistry.Rejections"/>).</summary>
    protected internal bool MayLogRejection() => Services.Connections.Rejections.ShouldLog();

    /// <summary>Wakes a read loop waiting for a slot, so it re-checks <see cref="ReadsWhileBusy"/>.</summary>
    internal void WakeReader()
    {
        if (Volatile.Read(ref _waits) is { } waits)
        {
            Volatile.Read(ref waits.SlotFreed)?.TrySetResult();
        }
    }

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
        await _writeLock.EnterAsync();
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
            _writeLock.Exit();
        }
    }

    /// <summary>
    /// Writes outside the read loop (an answer that completed later, a request to the peer): <paramref name="write"/>
    /// runs under the write lock, then the output is flushed; once the connection is over it throws
    /// <see cref="ConnectionAbortedException"/> instead.
    /// </summary>
    internal async Task WriteAsync<TState>(TState state, Action<TState> write, CancellationToken cancellationToken)
    {
        await _writeLock.EnterAsync(cancellationToken);
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
            AbortRequests();
            throw;
        }
        finally
        {
            _writeLock.Exit();
        }
    }

    /// <summary>Flushes the answers written in a batch (<see cref="FlushBatch"/>), under the write lock, as <see cref="WriteAsync"/> would have.</summary>
    void IBatchFlushable.FlushBatched() => _ = FlushDeferredAsync();

    private async Task FlushDeferredAsync()
    {
        await _writeLock.EnterAsync();
        try
        {
            if (!_outputClosed)
            {
                await Output.FlushAsync();
            }
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or InvalidOperationException)
        {
            AbortRequests();
            OnTransportEnded(ex.Message);
        }
        finally
        {
            _writeLock.Exit();
        }
    }

    /// <summary>Takes an in-flight slot for a request that answers later; <see cref="EndInFlight"/> releases it.</summary>
    internal void BeginInFlight() => Interlocked.Increment(ref _inFlight);

    /// <summary>Releases the slot of an asynchronous request (once, in a finally).</summary>
    internal void EndInFlight()
    {
        // The connection is busy, not idle, while its requests run (heartbeat timeout counts silence of the peer).
        Touch(Clock);
        var remaining = Interlocked.Decrement(ref _inFlight);
        // Nobody waits when there are no waits yet: a waiter publishes them (a full fence) before it reads the count.
        if (Volatile.Read(ref _waits) is not { } waits)
        {
            return;
        }

        Volatile.Read(ref waits.SlotFreed)?.TrySetResult();
        if (remaining == 0 && Volatile.Read(ref waits.Draining) == 1)
        {
            Volatile.Read(ref waits.Drained)?.TrySetResult();
        }
    }

    private Waits WaitsNow => Volatile.Read(ref _waits) ?? Interlocked.CompareExchange(ref _waits, new Waits(), null) ?? _waits;

    private async Task WaitForSlotAsync()
    {
        while (!HasFreeSlot && !ReadsWhileBusy)
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // A full fence (Dekker): EndInFlight decrements, then reads the waiter; this publishes it, then re-reads the count.
            Interlocked.Exchange(ref WaitsNow.SlotFreed, waiter);
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
        // No request can start any more (only the read loop starts them, and it has ended).
        if (Volatile.Read(ref _inFlight) == 0)
        {
            return Task.CompletedTask;
        }

        // Allocated only when requests are still running; the second check closes the race with the last one.
        var waits = WaitsNow;
        Interlocked.Exchange(ref waits.Draining, 1);
        Interlocked.CompareExchange(ref waits.Drained, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            waits.Drained.TrySetResult();
        }

        return waits.Drained.Task;
    }

    /// <summary>
    /// What the read loop waits for now and then besides input: a free in-flight slot, the drain at the end, a timed
    /// revisit of its input (<see cref="RevisitInputAfter"/>). Made the first time: an idle connection keeps none of it.
    /// </summary>
    private sealed class Waits
    {
        public TaskCompletionSource? SlotFreed;
        public TaskCompletionSource? Drained;
        public int Draining;
        public ITimer? RevisitTimer;
        public int RevisitDue;
    }
}
