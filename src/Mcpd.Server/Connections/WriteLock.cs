namespace Mcpd.Server.Connections;

/// <summary>
/// An asynchronous lock for a connection's writers (the read loop's batches, answers that complete later, the
/// server's own calls), held across a flush. A field of the connection, not an object: a connection whose writers
/// never meet keeps one reference for it, where a SemaphoreSlim costs each idle connection 88 bytes. Uncontended,
/// entering and leaving are one compare-exchange each; contended, waiters queue in order and <see cref="Exit"/> hands
/// the lock to the first one still waiting (a cancelled waiter is skipped), so it is never free while someone waits.
/// Invariants: <see cref="_state"/> is null (free), <see cref="Held"/> (held, nobody waits) or a <see cref="Waiters"/>
/// (held, and writers may be queued there); only the holder's <see cref="Exit"/> leaves a <see cref="Waiters"/>, under
/// its lock and after checking that it is still the state, and a waiter is queued only under that lock while that
/// <see cref="Waiters"/> is the state: so every queued waiter is seen by a holder's <see cref="Exit"/>.
/// </summary>
internal struct WriteLock
{
    private static readonly object Held = new();

    private object? _state;

    /// <summary>Takes the lock: at once when it is free, else when the writers before have left.</summary>
    public ValueTask EnterAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        return Interlocked.CompareExchange(ref _state, Held, null) is null ? ValueTask.CompletedTask : EnterContended(cancellationToken);
    }

    /// <summary>Leaves the lock, handing it to the first writer still waiting.</summary>
    public void Exit()
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state == Held)
            {
                if (Interlocked.CompareExchange(ref _state, null, Held) == Held)
                {
                    return;
                }

                continue;
            }

            var waiters = (Waiters)state!;
            lock (waiters.Sync)
            {
                if (Volatile.Read(ref _state) != waiters)
                {
                    // This holder was handed the lock while its giver was still leaving it, and read the state before
                    // the giver changed it: look again (acting on a Waiters no longer the state would lose new waiters).
                    continue;
                }

                var handedOver = false;
                while (!handedOver && waiters.Queue.TryDequeue(out var next))
                {
                    // Fails for a waiter whose cancellation came first; its continuation runs on the thread pool, not here.
                    handedOver = next.TrySetResult();
                }

                if (waiters.Queue.Count == 0)
                {
                    Volatile.Write(ref _state, handedOver ? Held : null);
                }

                return;
            }
        }
    }

    private ValueTask EnterContended(CancellationToken cancellationToken)
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state is null)
            {
                if (Interlocked.CompareExchange(ref _state, Held, null) is null)
                {
                    return ValueTask.CompletedTask;
                }

                continue;
            }

            if (state is not Waiters waiters)
            {
                waiters = new Waiters();
                if (Interlocked.CompareExchange(ref _state, waiters, Held) != Held)
                {
                    continue;
                }
            }

            TaskCompletionSource waiter;
            lock (waiters.Sync)
            {
                if (Volatile.Read(ref _state) != waiters)
                {
                    // The holder left before this writer could queue: look again.
                    continue;
                }

                waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                waiters.Queue.Enqueue(waiter);
            }

            return cancellationToken.CanBeCanceled ? new ValueTask(WaitAsync(waiter, cancellationToken)) : new ValueTask(waiter.Task);
        }
    }

    /// <summary>A cancelled waiter stays queued, completed: <see cref="Exit"/> skips it.</summary>
    private static async Task WaitAsync(TaskCompletionSource waiter, CancellationToken cancellationToken)
    {
        using (cancellationToken.UnsafeRegister(static (state, token) => ((TaskCompletionSource)state!).TrySetCanceled(token), waiter))
        {
            await waiter.Task;
        }
    }

    /// <summary>The writers waiting while the lock is contended; made when it becomes so, dropped when nobody waits.</summary>
    private sealed class Waiters
    {
        public readonly Lock Sync = new();
        public readonly Queue<TaskCompletionSource> Queue = new();
    }
}
