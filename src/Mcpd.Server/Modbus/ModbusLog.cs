using System.Net;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Modbus;

/// <summary>Log events of the Modbus TCP listener (event ids 200..299).</summary>
internal static partial class ModbusLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "Modbus connection {ConnectionId} from {RemoteEndPoint} opened")]
    public static partial void Connected(ILogger logger, string connectionId, EndPoint? remoteEndPoint);

    [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "Modbus connection {ConnectionId} from {RemoteEndPoint} closed")]
    public static partial void Disconnected(ILogger logger, string connectionId, EndPoint? remoteEndPoint);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Modbus connection {ConnectionId} from {RemoteEndPoint}: MBAP length {Length} is outside 2..254 (transaction {TransactionId}); TCP framing cannot resynchronise, closing the connection")]
    public static partial void InvalidLength(ILogger logger, string connectionId, EndPoint? remoteEndPoint, int length, int transactionId);

    [LoggerMessage(EventId = 203, Level = LogLevel.Debug, Message = "Modbus connection {ConnectionId}: discarded a frame with protocol id {ProtocolId} (Implementation Guide 4.4.2.2)")]
    public static partial void ForeignProtocol(ILogger logger, string connectionId, int protocolId);

    [LoggerMessage(EventId = 204, Level = LogLevel.Debug, Message = "Modbus connection {ConnectionId}: no device for unit {UnitId}")]
    public static partial void UnknownUnit(ILogger logger, string connectionId, int unitId);

    [LoggerMessage(EventId = 205, Level = LogLevel.Error, Message = "Modbus connection {ConnectionId}: unit {UnitId} failed executing function 0x{Function:X2}; answered exception 04")]
    public static partial void DeviceFailed(ILogger logger, Exception exception, string connectionId, int unitId, int function);

    [LoggerMessage(EventId = 206, Level = LogLevel.Debug, Message = "Modbus connection {ConnectionId} ended by the transport: {Reason}")]
    public static partial void TransportEnded(ILogger logger, string connectionId, string reason);
}
