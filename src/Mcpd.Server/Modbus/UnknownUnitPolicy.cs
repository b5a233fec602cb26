namespace Mcpd.Server.Modbus;

/// <summary>How a request addressed to a unit id with no device is answered (Application Protocol 7, gateway exceptions).</summary>
public enum UnknownUnitPolicy
{
    /// <summary>Exception 0x0B, gateway target device failed to respond: the unit may exist but did not answer.</summary>
    TargetFailedToRespond,
    /// <summary>Exception 0x0A, gateway path unavailable: there is no route to such a unit.</summary>
    PathUnavailable,
    /// <summary>No answer, as on a serial bus; the client times out. MCP's modbus.pdu, which must answer, gets 0x0B.</summary>
    Ignore,
}
