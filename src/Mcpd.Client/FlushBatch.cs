namespace Mcpd.Client;

/// <summary>
/// Output written on one thread while it handles one batch of input (every frame of one read) is flushed once, at the
/// end of the batch, instead of once per frame: one send for the answers of a pipelined burst. A reader opens the batch
/// around its synchronous handling of a read (<see cref="Begin"/>); a writer asks <see cref="TryDefer"/> instead of
/// flushing, and flushes itself when there is no batch. Invariant: a batch never spans an await, so it belongs to the
/// thread that opened it; each target is flushed once per batch, in the order it first deferred.
/// </summary>
public static class FlushBatch
{
    [ThreadStatic]
    private static List<IBatchFlushable>? t_deferred;

    [ThreadStatic]
    private static int t_depth;

    [ThreadStatic]
    private static long t_pass;

    [ThreadStatic]
    private static uint t_passes;

    /// <summary>
    /// Identifies the outermost batch open on this thread (one event-loop wake-up, one read), unique in the process;
    /// 0 when none is open. What is queued under one pass leaves together at its end.
    /// </summary>
    public static long CurrentPass => t_pass;

    /// <summary>Opens a batch on this thread; disposing the scope flushes what was deferred in it (when it is the outermost).</summary>
    public static Scope Begin()
    {
        if (t_depth++ == 0)
        {
            t_pass = ((long)Environment.CurrentManagedThreadId << 32) | ++t_passes;
        }

        return default;
    }

    /// <summary>
    /// Defers the flush of <paramref name="target"/> to the end of this thread's batch; false when no batch is open
    /// (the caller flushes now).
    /// </summary>
    public static bool TryDefer(IBatchFlushable target)
    {
        if (t_depth == 0)
        {
            return false;
        }

        var deferred = t_deferred ??= [];
        foreach (var known in deferred)
        {
            if (ReferenceEquals(known, target))
            {
                return true;
            }
        }

        deferred.Add(target);
        return true;
    }

    /// <summary>The open batch of a thread; see <see cref="Begin"/>.</summary>
    public readonly struct Scope : IDisposable
    {
        /// <summary>Closes the batch: the outermost one flushes every deferred target (targets deferred meanwhile too).</summary>
        public void Dispose()
        {
            if (t_depth > 1)
            {
                t_depth--;
                return;
            }

            // Still open while flushing: a flush that defers another target has it flushed in this same pass.
            var deferred = t_deferred;
            for (var i = 0; deferred is not null && i < deferred.Count; i++)
            {
                deferred[i].FlushBatched();
            }

            deferred?.Clear();
            t_depth = 0;
            t_pass = 0;
        }
    }
}

/// <summary>Output whose flush can wait for the end of the current <see cref="FlushBatch"/>.</summary>
public interface IBatchFlushable
{
    /// <summary>Flushes what was written; never throws and never blocks (a flush that must wait goes on asynchronously).</summary>
    void FlushBatched();
}
