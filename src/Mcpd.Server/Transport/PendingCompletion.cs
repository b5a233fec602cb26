using System.Threading.Tasks.Sources;

namespace Mcpd.Server.Transport;

/// <summary>
/// The one outstanding read or flush of a pipe end: a reusable value-task source whose outcome is prepared under the
/// connection's lock and delivered after it is released (<see cref="EpollConnection"/>'s rule: no application code
/// under the lock). A cancellation token cancels it through <c>onCanceled</c>, which takes the lock itself.
/// </summary>
internal struct PendingCompletion<TResult>
{
    private ManualResetValueTaskSourceCore<TResult> _core;
    private CancellationTokenRegistration _cancellation;
    private TResult _result;
    private Exception? _error;

    /// <summary>True from <see cref="Begin"/> until an outcome is prepared.</summary>
    public bool IsPending { get; private set; }

    /// <summary>Version of the current operation, for the <see cref="ValueTask{TResult}"/> handed out.</summary>
    public readonly short Version => _core.Version;

    /// <summary>
    /// Whether the application's continuation runs on the thread pool (true) or inline on the thread that completes
    /// it (false: the epoll loop). Set once, before the first operation.
    /// </summary>
    public bool RunContinuationsAsynchronously
    {
        readonly get => _core.RunContinuationsAsynchronously;
        set => _core.RunContinuationsAsynchronously = value;
    }

    /// <summary>Under the lock: starts an operation; the token must not be cancelled yet.</summary>
    public void Begin(Action<object?, CancellationToken> onCanceled, object owner, CancellationToken cancellationToken)
    {
        _core.Reset();
        IsPending = true;
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(onCanceled, owner);
        }
    }

    /// <summary>Under the lock: ends the operation with <paramref name="result"/>; <see cref="Signal"/> delivers it. Always true.</summary>
    public bool Prepare(TResult result)
    {
        End();
        (_result, _error) = (result, null);
        return true;
    }

    /// <summary>Under the lock: ends the operation with <paramref name="error"/>; <see cref="Signal"/> delivers it. Always true.</summary>
    public bool PrepareError(Exception error)
    {
        End();
        (_result, _error) = (default!, error);
        return true;
    }

    /// <summary>Delivers the prepared outcome, outside the lock: an inline continuation runs here.</summary>
    public void Signal()
    {
        var (result, error) = (_result, _error);
        (_result, _error) = (default!, null);
        if (error is not null)
        {
            _core.SetException(error);
        }
        else
        {
            _core.SetResult(result);
        }
    }

    public TResult GetResult(short token) => _core.GetResult(token);

    public readonly ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private void End()
    {
        IsPending = false;
        // Unregister, not Dispose: Dispose would wait for a running callback, which needs the lock this thread holds.
        _cancellation.Unregister();
        _cancellation = default;
    }
}
