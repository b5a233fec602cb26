using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Mcpd.Server.Connections;

/// <summary>
/// The method builder of an <c>async ValueTask&lt;TResult&gt;</c> that has many calls suspended at once on one thread:
/// as <see cref="PoolingAsyncValueTaskMethodBuilder{TResult}"/>, a suspended call lives in a reused box, but the free
/// boxes are kept in a <see cref="ReusePool{T}"/> (hundreds per thread, and a shared overflow) instead of one per
/// thread and one per core. A gateway's event loop suspends hundreds of requests and then resumes them in bursts; the
/// framework's builder then found an empty cache for nearly every request (docs/performance.md).
/// Contract, as the framework's pooling builder: the returned ValueTask is awaited (or its result read) exactly once,
/// after which its box serves another call. Continuations run inline on the completing thread, in the execution
/// context captured at the await, as an await's do.
/// </summary>
/// <typeparam name="TResult">The method's result.</typeparam>
internal struct PerThreadPoolingValueTaskMethodBuilder<TResult>
{
    /// <summary>The box once the method suspended; null while it runs synchronously.</summary>
    private Box? _box;

    private TResult? _result;
    private Exception? _exception;

    /// <summary>Used by the compiler.</summary>
    public static PerThreadPoolingValueTaskMethodBuilder<TResult> Create() => default;

    /// <summary>The method's ValueTask: its result when it completed without suspending, else its box.</summary>
    public ValueTask<TResult> Task =>
        _box is { } box ? new ValueTask<TResult>(box, box.Version)
        : _exception is { } exception ? ValueTask.FromException<TResult>(exception)
        : new ValueTask<TResult>(_result!);

#pragma warning disable CA1822, IDE0060 // The async method builder pattern calls these as instance methods.

    /// <summary>Runs the method up to its first suspension, restoring the thread's execution context after (as the framework's builders).</summary>
    public readonly void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine =>
        default(AsyncValueTaskMethodBuilder<TResult>).Start(ref stateMachine);

    /// <summary>Not used with a struct state machine.</summary>
    public readonly void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

#pragma warning restore CA1822, IDE0060

    public void SetResult(TResult result)
    {
        if (_box is { } box)
        {
            box.SetResult(result);
        }
        else
        {
            _result = result;
        }
    }

    public void SetException(Exception exception)
    {
        if (_box is { } box)
        {
            box.SetException(exception);
        }
        else
        {
            _exception = exception;
        }
    }

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion
        where TStateMachine : IAsyncStateMachine =>
        awaiter.OnCompleted(Suspend(ref stateMachine));

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion
        where TStateMachine : IAsyncStateMachine =>
        awaiter.UnsafeOnCompleted(Suspend(ref stateMachine));

    /// <summary>The continuation of this await: the method's box (taken at its first suspension), in the current execution context.</summary>
    private Action Suspend<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine
    {
        if (_box is not Box<TStateMachine> box)
        {
            box = Box<TStateMachine>.Rent();
            // The builder is a field of the state machine: the box is set in it before the state machine is copied
            // into the box, so the copy (which runs from now on) and the caller's (which reads Task) both know it.
            _box = box;
            box.StateMachine = stateMachine;
        }

        box.Context = ExecutionContext.Capture();
        return box.MoveNextAction;
    }

    /// <summary>A suspended call's completion, reused call after call.</summary>
    private abstract class Box : IValueTaskSource<TResult>
    {
        private ManualResetValueTaskSourceCore<TResult> _completion;

        public short Version => _completion.Version;

        public void SetResult(TResult result) => _completion.SetResult(result);

        public void SetException(Exception exception) => _completion.SetException(exception);

        public TResult GetResult(short token)
        {
            if (token != _completion.Version || _completion.GetStatus(token) == ValueTaskSourceStatus.Pending)
            {
                // A second read, or a read before completion: refused (InvalidOperationException), and the box,
                // which may serve another call already, is left alone.
                return _completion.GetResult(token);
            }

            try
            {
                return _completion.GetResult(token);
            }
            finally
            {
                _completion.Reset();
                Return();
            }
        }

        public ValueTaskSourceStatus GetStatus(short token) => _completion.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _completion.OnCompleted(continuation, state, token, flags);

        /// <summary>The call is over and its result read: the box is free for another call.</summary>
        protected abstract void Return();
    }

    private sealed class Box<TStateMachine> : Box where TStateMachine : IAsyncStateMachine
    {
        private static readonly ContextCallback s_moveNext = static box => ((Box<TStateMachine>)box!).StateMachine!.MoveNext();

        public TStateMachine? StateMachine;

        /// <summary>The execution context of the await the call is suspended at.</summary>
        public ExecutionContext? Context;

        private Box() => MoveNextAction = MoveNext;

        /// <summary>Resumes the call: made once per box, so an await allocates nothing.</summary>
        public Action MoveNextAction { get; }

        public static Box<TStateMachine> Rent() => ReusePool<Box<TStateMachine>>.TryTake() ?? new Box<TStateMachine>();

        protected override void Return()
        {
            StateMachine = default;
            Context = null;
            ReusePool<Box<TStateMachine>>.Give(this);
        }

        private void MoveNext()
        {
            if (Context is { } context)
            {
                ExecutionContext.Run(context, s_moveNext, this);
            }
            else
            {
                StateMachine!.MoveNext();
            }
        }
    }
}
