using Mcpd.Protocols.Modbus;

namespace Mcpd.Server.Devices;

/// <summary>
/// Who a Modbus request comes from: the client connection (Kestrel's id), so a shared resource such as an RTU bus
/// can serve its clients fairly, and log lines can name the origin.
/// </summary>
/// <param name="ConnectionId">The client connection's id.</param>
/// <param name="AnswerOrigin">
/// Where a gateway upstream marks an answer it gave in the device's place (<see cref="ModbusAnswerOrigin"/>); null when
/// the caller does not ask, as the protocol listeners do not.
/// </param>
public readonly record struct ModbusCaller(string ConnectionId, ModbusAnswerOrigin? AnswerOrigin = null)
{
    /// <summary>
    /// Writes exception <paramref name="code"/> answering <paramref name="request"/> into <paramref name="response"/>
    /// as mcpd's own answer (the device was not asked, or did not answer), marked so for the caller; returns its length.
    /// </summary>
    public int AnswerInDevicesPlace(ReadOnlySpan<byte> request, Span<byte> response, ModbusExceptionCode code)
    {
        AnswerOrigin?.MarkByGateway();
        return ModbusResponsePdu.WriteException(response, request[0], code);
    }
}
