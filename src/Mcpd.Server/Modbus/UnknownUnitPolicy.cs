namespace Mcpd.Server.Modbus;

/// <summary>How a request addressed to a unit id with no device is answered.</summary>
public enum UnknownUnitPolicy
{
    /// <summary>Exception 0x0B, gateway target device failed to respond (Application Protocol 7), as a gateway would.</summary>
    Exception,
    /// <summary>No answer, as on a serial bus; the client times out.</summary>
    Ignore,
}
