using Mcpd.Client;

namespace Mcpd.Server.Tests.Connections;

/// <summary>The flush batch of a thread: deferred flushes happen once per target, at the end of the outermost batch.</summary>
public sealed class FlushBatchTests
{
    [Fact]
    public void Without_a_batch_nothing_is_deferred()
    {
        Assert.False(FlushBatch.TryDefer(new CountingTarget()));
    }

    [Fact]
    public void A_pass_is_the_outermost_batch_nested_ones_share_it_and_the_next_one_is_another()
    {
        Assert.Equal(0, FlushBatch.CurrentPass);
        long outer, inner;
        using (FlushBatch.Begin())
        {
            outer = FlushBatch.CurrentPass;
            using (FlushBatch.Begin())
            {
                inner = FlushBatch.CurrentPass;
            }

            Assert.Equal(outer, FlushBatch.CurrentPass);
        }

        Assert.Equal(0, FlushBatch.CurrentPass);
        using (FlushBatch.Begin())
        {
            Assert.NotEqual(outer, FlushBatch.CurrentPass);
        }

        Assert.NotEqual(0, outer);
        Assert.Equal(outer, inner);
    }

    [Fact]
    public void A_target_deferred_many_times_in_nested_batches_is_flushed_once_when_the_outermost_ends()
    {
        var first = new CountingTarget();
        var second = new CountingTarget();
        using (FlushBatch.Begin())
        {
            using (FlushBatch.Begin())
            {
                Assert.True(FlushBatch.TryDefer(first));
                Assert.True(FlushBatch.TryDefer(second));
                Assert.True(FlushBatch.TryDefer(first));
            }

            Assert.Equal(0, first.Flushes);
        }

        Assert.Equal(1, first.Flushes);
        Assert.Equal(1, second.Flushes);
        Assert.False(FlushBatch.TryDefer(first));
    }

    [Fact]
    public void A_flush_that_defers_another_target_has_it_flushed_in_the_same_pass()
    {
        var later = new CountingTarget();
        var chaining = new CountingTarget(() => FlushBatch.TryDefer(later));
        using (FlushBatch.Begin())
        {
            FlushBatch.TryDefer(chaining);
        }

        Assert.Equal(1, chaining.Flushes);
        Assert.Equal(1, later.Flushes);
    }

    private sealed class CountingTarget(Func<bool>? onFlush = null) : IBatchFlushable
    {
        public int Flushes { get; private set; }

        public void FlushBatched()
        {
            Flushes++;
            onFlush?.Invoke();
        }
    }
}
