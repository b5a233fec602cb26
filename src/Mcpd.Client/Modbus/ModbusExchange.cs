using System.Threading.Tasks.Sources;

namespace Mcpd.Client.Modbus;

/// <summary>
/// One request of a <see cref="ModbusTcpClient"/> waiting for its answer: the awaitable the caller holds, reused for
/// request after request (<see cref="ModbusExchangeTable"/> keeps the free ones), so a request allocates nothing.
/// Exactly one party completes it: whoever takes it out of the table (the answer, the timeout sweep, the caller's
/// cancellation, a connection failure). The caller's request and response memory stay valid until then.
/// </summary>
internal sealed class ModbusExchange(ModbusExchangeTable table) : IValueTaskSource<int>
{
    private ManualResetValueTaskSourceCore<int> _completion;

    /// <summary>The transaction id while it waits.</summary>
    public ushort TransactionId { get; set; }

    /// <summary>The unit the request went to: the answer must come from it (Implementation Guide 4.4.1.1).</summary>
    public byte Unit { get; private set; }

    /// <summary>The request PDU, to judge whether an answer fits it.</summary>
    public ReadOnlyMemory<byte> Request { get; private set; }

    /// <summary>Where the answer's PDU is copied.</summary>
    public Memory<byte> Response { get; private set; }

    /// <summary>When it times out (a <see cref="TimeProvider.System"/> timestamp).</summary>
    public long Deadline { get; private set; }

    /// <summary>How long it was given, for the timeout's message.</summary>
    public TimeSpan Timeout { get; private set; }

    /// <summary>The caller's cancellation, unregistered when the exchange completes.</summary>
    public CancellationTokenRegistration Cancellation { get; set; }

    /// <summary>Prepares the exchange for a new request; <paramref name="inline"/> runs the caller's continuation on the thread that completes it.</summary>
    public ValueTask<int> Start(byte unit, ReadOnlyMemory<byte> request, Memory<byte> response, TimeSpan timeout, bool inline)
    {
        Unit = unit;
        Request = request;
        Response = response;
        Timeout = timeout;
        Deadline = TimeProvider.System.GetTimestamp() + (long)(timeout.TotalSeconds * TimeProvider.System.TimestampFrequency);
        _completion.Reset();
        _completion.RunContinuationsAsynchronously = !inline;
        return new ValueTask<int>(this, _completion.Version);
    }

    /// <summary>The answer's PDU, <paramref name="length"/> bytes, is in <see cref="Response"/>.</summary>
    public void Complete(int length)
    {
        Cancellation.Dispose();
        _completion.SetResult(length);
    }

    /// <summary>
    /// No answer: the caller's await throws <paramref name="failure"/>. Always on the thread pool: failures come from
    /// inside the connection's machinery (a send loop, a sweep, a dispose), which the caller's code must not re-enter.
    /// </summary>
    public void Fail(Exception failure)
    {
        Cancellation.Dispose();
        _completion.RunContinuationsAsynchronously = true;
        _completion.SetException(failure);
    }

    /// <summary>The caller's token fired: the exchange fails with it if it still waits for its answer.</summary>
    public void Cancel(CancellationToken token)
    {
        if (table.TryTake(this))
        {
            Fail(new OperationCanceledException(token));
        }
    }

    int IValueTaskSource<int>.GetResult(short token)
    {
        try
        {
            return _completion.GetResult(token);
        }
        finally
        {
            // The caller has its result: nothing refers to this exchange any more (a registration made after a
            // failure had already completed it is released here, so it can never cancel the exchange's next request).
            Cancellation.Dispose();
            Request = default;
            Response = default;
            Cancellation = default;
            table.Recycle(this);
        }
    }

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);
}
