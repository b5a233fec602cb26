namespace Mcpd.Server.Devices;

/// <summary>
/// Something that executes Modbus PDUs: a simulated device from the register map, or a gateway to a real one behind
/// an upstream (<see cref="IUpstreamDevices"/>). Library users may register their own.
/// </summary>
public interface IModbusDevice
{
    /// <summary>
    /// Executes <paramref name="request"/> (function code + data) and writes the response PDU, normal or exception,
    /// into <paramref name="response"/> (at least 253 bytes); returns its length, or 0 when the request has no answer
    /// (a broadcast). A device that completes synchronously returns a completed <see cref="ValueTask{TResult}"/>,
    /// which the server answers without allocating.
    /// Both buffers stay valid until the returned task completes. <paramref name="caller"/> names the client connection.
    /// </summary>
    ValueTask<int> ExecuteAsync(ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken);
}
