using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Mcpd.Server.Connections;

namespace Mcpd.Server.Tests.Connections;

/// <summary>
/// The per-thread pooling builder behaves as an async method's: results, exceptions, execution context; and many
/// calls suspended at once on one thread reuse their boxes instead of allocating new ones.
/// </summary>
public sealed class PerThreadPoolingValueTaskMethodBuilderTests
{
    private static readonly AsyncLocal<string?> Flowing = new();

    [Fact]
    public async Task A_call_that_never_suspends_returns_its_result_or_exception_without_a_box()
    {
        Assert.Equal(42, await Answer(null, 42));
        var pending = Fail(null);
        Assert.True(pending.IsFaulted);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await pending);
    }

    [Fact]
    public async Task A_suspended_call_completes_with_its_result_or_exception_when_resumed()
    {
        var (answerGate, failureGate) = (new Gate(), new Gate());
        var answer = Answer(answerGate, 7);
        var failure = Fail(failureGate);
        Assert.False(answer.IsCompleted);
        Assert.False(failure.IsCompleted);

        answerGate.Open();
        failureGate.Open();

        Assert.Equal(7, await answer);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await failure);
    }

    [Fact]
    public async Task The_result_of_a_suspended_call_can_be_read_once_only()
    {
        var gate = new Gate();
        var answer = Answer(gate, 1);
        gate.Open();
        Assert.Equal(1, await answer);

        // The box went back to the free list: a second read is the misuse the ValueTask contract forbids.
        Assert.Throws<InvalidOperationException>(() => answer.GetAwaiter().GetResult());
    }

    [Fact]
    public async Task The_execution_context_of_the_await_flows_into_the_continuation_and_not_out_of_it()
    {
        var gate = new Gate();
        Flowing.Value = "caller";
        var seen = ReadAfterAwait(gate);
        Flowing.Value = null;

        gate.Open(); // resumed here, on this thread, where nothing flows

        Assert.Equal("caller|inner", await seen);
        Assert.Null(Flowing.Value);
    }

#pragma warning disable CA2012, xUnit1031 // Held, then read once, synchronously on this thread: its allocations are what is measured.
    [Fact]
    public void Hundreds_of_calls_suspended_at_once_reuse_their_boxes_on_the_next_round()
    {
        var pooled = ThirdRoundAllocation(static (gate, value) => Answer(gate, value));
        var framework = ThirdRoundAllocation(static (gate, value) => AnswerWithFrameworkBuilder(gate, value));

        // The first rounds made the boxes; later rounds find them free. The framework's builder keeps one per thread
        // and one per core, so most of the 200 calls get a new box every round.
        Assert.True(pooled < framework, $"{pooled} B with the per-thread pool, {framework} B with the framework's builder");
#if !DEBUG
        // A Debug build allocates each call's state machine object as well, whatever the builder.
        Assert.Equal(0, pooled);
#endif
    }

    /// <summary>Allocated by this thread in the third of three rounds of 200 calls suspended at once, then resumed and read in turn.</summary>
    private static long ThirdRoundAllocation(Func<Gate, int, ValueTask<int>> call)
    {
        const int InFlight = 200;
        var gates = Enumerable.Range(0, InFlight).Select(_ => new Gate()).ToArray();
        var calls = new ValueTask<int>[InFlight];
        long allocated = 0;
        var wrong = 0;
        for (var round = 0; round < 3; round++)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < InFlight; i++)
            {
                calls[i] = call(gates[i], i);
            }

            for (var i = 0; i < InFlight; i++)
            {
                gates[i].Open();
                // Counted, not asserted, inside the measured round: an assertion allocates.
                wrong += calls[i].GetAwaiter().GetResult() == i ? 0 : 1;
                gates[i].Reset();
            }

            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.Equal(0, wrong);
        return allocated;
    }
#pragma warning restore CA2012, xUnit1031

    [AsyncMethodBuilder(typeof(PerThreadPoolingValueTaskMethodBuilder<>))]
    private static async ValueTask<int> Answer(Gate? gate, int value)
    {
        if (gate is not null)
        {
            await gate.WaitAsync();
        }

        return value;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<int> AnswerWithFrameworkBuilder(Gate gate, int value)
    {
        await gate.WaitAsync();
        return value;
    }

    [AsyncMethodBuilder(typeof(PerThreadPoolingValueTaskMethodBuilder<>))]
    private static async ValueTask<int> Fail(Gate? gate)
    {
        if (gate is not null)
        {
            await gate.WaitAsync();
        }

        throw new InvalidOperationException("failed");
    }

    [AsyncMethodBuilder(typeof(PerThreadPoolingValueTaskMethodBuilder<>))]
    private static async ValueTask<string> ReadAfterAwait(Gate gate)
    {
        await gate.WaitAsync();
        var seen = Flowing.Value;
        Flowing.Value = "inner";
        return $"{seen}|{Flowing.Value}";
    }

    /// <summary>An awaitable opened by hand, reusable, that resumes its waiter inline (as the event loop does).</summary>
    private sealed class Gate : IValueTaskSource
    {
        private ManualResetValueTaskSourceCore<bool> _core;

        public ValueTask WaitAsync() => new(this, _core.Version);

        public void Open() => _core.SetResult(true);

        public void Reset() => _core.Reset();

        public void GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
