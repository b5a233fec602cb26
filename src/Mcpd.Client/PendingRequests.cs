using System.Security.Authentication;

namespace Mcpd.Client;

/// <summary>
/// Requests waiting for their answer, by id. Ids still waiting are skipped when a new one is taken, so a late answer
/// can never be matched to a newer request; an answer whose request is gone (timed out, cancelled) is dropped.
/// After <see cref="FailAll"/> every waiter fails and no request can be registered any more: with an
/// <see cref="AuthenticationException"/> when the connection ended because the server refused this client's
/// certificate (a refusal, said as such), else with an <see cref="IOException"/>. Both clients and the
/// server's calls to its clients (docs/protocol.md, "Requests from the server to a client") correlate this way. Thread-safe.
/// </summary>
/// <typeparam name="TResult">What an answer delivers.</typeparam>
/// <param name="maxId">Largest id (the protocol's id space: 65535 for a Modbus transaction id, uint.MaxValue for MCP); ids start at 1 and wrap.</param>
/// <param name="peer">Names the other end in the exceptions of waiters.</param>
public sealed class PendingRequests<TResult>(uint maxId, string peer)
{
    private readonly Lock _sync = new();
    private readonly Dictionary<uint, TaskCompletionSource<TResult>> _waiting = [];
    private uint _lastId;
    private Exception? _failure;

    /// <summary>True after <see cref="FailAll"/>: the connection is gone.</summary>
    public bool IsClosed => Volatile.Read(ref _failure) is not null;

    /// <summary>Requests still waiting for their answer.</summary>
    public int Count
    {
        get
        {
            lock (_sync)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Takes the next free id for a new request; its answer completes <c>Completion</c>.</summary>
    /// <exception cref="IOException">The connection is closed (<see cref="FailAll"/> ran).</exception>
    /// <exception cref="AuthenticationException">The connection was closed because the server refused this client's certificate.</exception>
    /// <exception cref="InvalidOperationException">Every id is in flight.</exception>
    public (uint Id, TaskCompletionSource<TResult> Completion) Register()
    {
        var completion = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_sync)
        {
            if (_failure is not null)
            {
                throw _failure is AuthenticationException ? new AuthenticationException(_failure.Message, _failure) : new IOException($"The connection to {peer} is closed: {_failure.Message}", _failure);
            }

            if (_waiting.Count >= maxId)
            {
                throw new InvalidOperationException($"All {maxId} request ids are in flight.");
            }

            do
            {
                _lastId = _lastId >= maxId ? 1 : _lastId + 1;
            }
            while (_waiting.ContainsKey(_lastId));

            _waiting[_lastId] = completion;
            return (_lastId, completion);
        }
    }

    /// <summary>Delivers an answer; false when nobody waits for <paramref name="id"/> any more.</summary>
    public bool TryComplete(uint id, TResult result)
    {
        TaskCompletionSource<TResult>? completion;
        lock (_sync)
        {
            _waiting.Remove(id, out completion);
        }

        return completion?.TrySetResult(result) ?? false;
    }

    /// <summary>Forgets a request that gave up waiting.</summary>
    public void Remove(uint id)
    {
        lock (_sync)
        {
            _waiting.Remove(id);
        }
    }

    /// <summary>Fails every waiter with an <see cref="IOException"/> naming <paramref name="failure"/>, or an <see cref="AuthenticationException"/> that repeats it.</summary>
    public void FailAll(Exception failure)
    {
        TaskCompletionSource<TResult>[] waiting;
        lock (_sync)
        {
            _failure ??= failure;
            waiting = [.. _waiting.Values];
            _waiting.Clear();
        }

        foreach (var completion in waiting)
        {
            completion.TrySetException(failure is AuthenticationException
                ? new AuthenticationException(failure.Message, failure)
                : new IOException($"The connection to {peer} closed before the answer arrived: {failure.Message}", failure));
        }
    }
}
