using Mcpd.Protocols.Modbus;

namespace Mcpd.Client.Modbus;

/// <summary>The server answered with a Modbus exception response (Modbus Application Protocol V1.1b3, section 7).</summary>
public sealed class ModbusException : Exception
{
    /// <summary>Creates the exception for a function and the code the server sent.</summary>
    public ModbusException(byte function, ModbusExceptionCode code)
        : base($"The device answered function 0x{function:X2} with exception {(byte)code:X2} ({Describe(code)}).")
    {
        Function = function;
        Code = code;
    }

    /// <summary>The request's function code.</summary>
    public byte Function { get; }

    /// <summary>The exception code.</summary>
    public ModbusExceptionCode Code { get; }

    /// <summary>What an exception code means, in words.</summary>
    public static string Describe(ModbusExceptionCode code) => code switch
    {
        ModbusExceptionCode.IllegalFunction => "illegal function: the device does not support this function code",
        ModbusExceptionCode.IllegalDataAddress => "illegal data address: the address range is outside the device's table",
        ModbusExceptionCode.IllegalDataValue => "illegal data value: a quantity, byte count or value is not allowed",
        ModbusExceptionCode.ServerDeviceFailure => "server device failure",
        ModbusExceptionCode.Acknowledge => "acknowledge: accepted, processing takes long",
        ModbusExceptionCode.ServerDeviceBusy => "server device busy: retry later",
        ModbusExceptionCode.MemoryParityError => "memory parity error",
        ModbusExceptionCode.GatewayPathUnavailable => "gateway path unavailable",
        ModbusExceptionCode.GatewayTargetDeviceFailedToRespond => "gateway target device failed to respond: no device answers this unit id",
        _ => "unknown exception code",
    };
}
