using Mcpd.Server.Connections;

namespace Mcpd.Server.Tests.Connections;

/// <summary>
/// The connection's write lock: one writer at a time, taken at once when free, handed in order to waiters, a cancelled
/// waiter skipped and never left holding it.
/// </summary>
public sealed class WriteLockTests
{
    [Fact]
    public async Task A_free_lock_is_taken_at_once_and_again_after_leaving()
    {
        var holder = new Holder();

        var first = holder.Lock.EnterAsync().AsTask();
        Assert.True(first.IsCompletedSuccessfully);
        await first;
        holder.Lock.Exit();

        Assert.True(holder.Lock.EnterAsync().AsTask().IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Waiters_get_the_lock_in_order_one_at_a_time()
    {
        var holder = new Holder();
        await holder.Lock.EnterAsync();
        var second = holder.Lock.EnterAsync().AsTask();
        var third = holder.Lock.EnterAsync().AsTask();
        Assert.False(second.IsCompleted);

        holder.Lock.Exit();
        await second.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(third.IsCompleted);

        holder.Lock.Exit();
        await third.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        holder.Lock.Exit();
        Assert.True(holder.Lock.EnterAsync().AsTask().IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_cancelled_waiter_is_skipped_and_the_next_one_gets_the_lock()
    {
        var holder = new Holder();
        await holder.Lock.EnterAsync();
        using var cancel = new CancellationTokenSource();
        var cancelled = holder.Lock.EnterAsync(cancel.Token).AsTask();
        var next = holder.Lock.EnterAsync().AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        holder.Lock.Exit();

        await next.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        holder.Lock.Exit();
        Assert.True(holder.Lock.EnterAsync().AsTask().IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_cancelled_token_is_refused_even_when_the_lock_is_free()
    {
        var holder = new Holder();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => holder.Lock.EnterAsync(new CancellationToken(canceled: true)).AsTask());

        Assert.True(holder.Lock.EnterAsync().AsTask().IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Writers_racing_with_cancellations_never_overlap_and_leave_the_lock_free()
    {
        const int Writers = 16;
        const int Rounds = 20_000;
        var holder = new Holder();
        var inside = 0;
        var overlaps = 0;
        var entered = 0;

        var writers = Task.WhenAll(Enumerable.Range(0, Writers).Select(writer => Task.Run(async () =>
        {
            for (var i = 0; i < Rounds; i++)
            {
                using var cancel = new CancellationTokenSource();
                if (i % 7 == writer % 7)
                {
                    cancel.CancelAfter(TimeSpan.FromTicks(Random.Shared.Next(1, 2_000)));
                }

                try
                {
                    await holder.Lock.EnterAsync(cancel.Token);
                }
                catch (OperationCanceledException)
                {
                    continue;
                }

                if (Interlocked.Increment(ref inside) != 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                Interlocked.Increment(ref entered);
                if (i % 3 == 0)
                {
                    await Task.Yield();
                }

                Interlocked.Decrement(ref inside);
                holder.Lock.Exit();
            }
        }, TestContext.Current.CancellationToken)));

        // A waiter the lock forgot would wait for ever: that is a failure here, not a hang.
        await writers.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.Equal(0, overlaps);
        Assert.True(entered > Writers * Rounds / 2, $"only {entered} entries");
        Assert.True(holder.Lock.EnterAsync().AsTask().IsCompletedSuccessfully);
    }

    /// <summary>The lock is a mutable struct: it lives in a field of an object, as in a connection.</summary>
    private sealed class Holder
    {
        public WriteLock Lock;
    }
}
