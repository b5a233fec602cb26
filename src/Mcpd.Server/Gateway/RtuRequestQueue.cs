using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Server.Gateway;

/// <summary>One request waiting for, or on, an RTU bus.</summary>
internal sealed class RtuRequest(byte unit, ReadOnlyMemory<byte> pdu, Memory<byte> response, ModbusCaller caller)
{
    private readonly TaskCompletionSource<int> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public byte Unit { get; } = unit;

    public ReadOnlyMemory<byte> Pdu { get; } = pdu;

    public Memory<byte> Response { get; } = response;

    /// <summary>The client connection the request came from: the queue's unit of fairness.</summary>
    public string ClientId => caller.ConnectionId;

    public Task<int> Completion => _completion.Task;

    /// <summary>True while the request waits in the queue; set and cleared under the queue's lock.</summary>
    internal bool Queued { get; set; }

    internal CancellationTokenRegistration Cancellation { get; set; }

    /// <summary>Completes with the response length; the response buffer holds the PDU.</summary>
    public void Complete(int length)
    {
        Cancellation.Dispose();
        _completion.TrySetResult(length);
    }

    /// <summary>Completes with exception <paramref name="code"/>, mcpd's own answer in the slave's place (marked so for the caller).</summary>
    public void AnswerInDevicesPlace(ModbusExceptionCode code) => Complete(caller.AnswerInDevicesPlace(Pdu.Span, Response.Span, code));

    public void Cancel(CancellationToken cancellationToken) => _completion.TrySetCanceled(cancellationToken);
}

/// <summary>
/// The requests waiting for an RTU bus, served one at a time in round-robin over the client connections: each
/// connection with waiting requests gets one turn in each round, whatever the number it queued, so a client that
/// floods the bus slows only itself. At most <c>limit</c> requests wait in all. Once <see cref="Close"/>d it takes
/// no request, so whoever empties it after closing answers every request it ever took.
/// </summary>
internal sealed class RtuRequestQueue(int limit) : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Queue<RtuRequest>> _byClient = [];
    private readonly Queue<string> _turns = new();
    private readonly SemaphoreSlim _signal = new(0);
    private int _count;
    private bool _closed;

    /// <summary>Requests waiting.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>True once <see cref="Close"/> was called.</summary>
    public bool IsClosed
    {
        get
        {
            lock (_lock)
            {
                return _closed;
            }
        }
    }

    /// <summary>Takes no request from here on; those waiting stay to be dequeued.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
        }
    }

    /// <summary>Adds <paramref name="request"/> at the end of its client's line; false when <c>limit</c> requests already wait or the queue is closed.</summary>
    public bool TryEnqueue(RtuRequest request)
    {
        lock (_lock)
        {
            if (_closed || _count >= limit)
            {
                return false;
            }

            if (!_byClient.TryGetValue(request.ClientId, out var line))
            {
                _byClient[request.ClientId] = line = new Queue<RtuRequest>();
                _turns.Enqueue(request.ClientId);
            }

            line.Enqueue(request);
            request.Queued = true;
            _count++;
            // Under the lock, so it never runs after Dispose (the waiter's continuation runs asynchronously).
            _signal.Release();
        }

        return true;
    }

    /// <summary>Takes the next request: the head of the line of the client whose turn it is.</summary>
    public bool TryDequeue(out RtuRequest request)
    {
        lock (_lock)
        {
            while (_turns.TryDequeue(out var client))
            {
                var line = _byClient[client];
                var found = TakeLive(line, out request);
                if (line.Count > 0)
                {
                    _turns.Enqueue(client);
                }
                else
                {
                    _byClient.Remove(client);
                }

                if (found)
                {
                    return true;
                }
            }
        }

        request = null!;
        return false;
    }

    /// <summary>Removes <paramref name="request"/> if it still waits (its client gave up); false when it already left.</summary>
    public bool TryAbandon(RtuRequest request)
    {
        lock (_lock)
        {
            if (!request.Queued)
            {
                return false;
            }

            // Left in its line and skipped when its turn comes; it no longer counts against the limit.
            request.Queued = false;
            _count--;
            return true;
        }
    }

    /// <summary>Waits until a request may be waiting, or <paramref name="timeout"/> passes; true when signalled.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    /// <summary>Closes the queue and frees its signal; call once nobody waits on it any more.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _closed = true;
            _signal.Dispose();
        }
    }

    private bool TakeLive(Queue<RtuRequest> line, out RtuRequest request)
    {
        while (line.TryDequeue(out request!))
        {
            if (request.Queued)
            {
                request.Queued = false;
                _count--;
                return true;
            }
        }

        return false;
    }
}
