using Mcpd.Server.Devices;

namespace Mcpd.Testing;

/// <summary>
/// An asynchronous device, like a gateway to a slow real device: every request waits until the test opens the gate,
/// then is answered by <paramref name="then"/>, or else by echoing the request PDU.
/// </summary>
/// <param name="then">The device that answers once the gate is open; null echoes.</param>
public sealed class GatedDevice(IModbusDevice? then = null) : IModbusDevice
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;
    private int _cancelled;

    /// <summary>Requests that have reached the device.</summary>
    public int Started => Volatile.Read(ref _started);

    /// <summary>Requests whose cancellation token fired while they waited at the gate.</summary>
    public int Cancelled => Volatile.Read(ref _cancelled);

    public void Open() => _gate.TrySetResult();

    public async ValueTask<int> ExecuteAsync(ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _started);
        try
        {
            await _gate.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _cancelled);
            throw;
        }

        if (then is not null)
        {
            return await then.ExecuteAsync(request, response, caller, cancellationToken);
        }

        request.CopyTo(response);
        return request.Length;
    }
}
