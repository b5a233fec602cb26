namespace Mcpd.Protocols.Modbus;

/// <summary>Exception codes of the Modbus Application Protocol V1.1b3, section 7.</summary>
public enum ModbusExceptionCode : byte
{
    /// <summary>01: the function code is not supported by the server.</summary>
    IllegalFunction = 0x01,
    /// <summary>02: the address, or address plus quantity, is outside the table.</summary>
    IllegalDataAddress = 0x02,
    /// <summary>03: a value in the request (quantity, byte count, coil value) is not allowed.</summary>
    IllegalDataValue = 0x03,
    /// <summary>04: an unrecoverable error occurred while executing the request.</summary>
    ServerDeviceFailure = 0x04,
    /// <summary>05: the request was accepted and takes long; poll for completion.</summary>
    Acknowledge = 0x05,
    /// <summary>06: the server is busy with other requests; retry later.</summary>
    ServerDeviceBusy = 0x06,
    /// <summary>08: a parity error in extended file memory.</summary>
    MemoryParityError = 0x08,
    /// <summary>0A: a gateway found no path to the target device.</summary>
    GatewayPathUnavailable = 0x0A,
    /// <summary>0B: a gateway got no response from the target device.</summary>
    GatewayTargetDeviceFailedToRespond = 0x0B,
}
