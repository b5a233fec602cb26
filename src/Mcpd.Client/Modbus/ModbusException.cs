using Mcpd.Protocols.Modbus;

namespace Mcpd.Client.Modbus;

/// <summary>The server answered with a Modbus exception response (Modbus Application Protocol V1.1b3, section 7).</summary>
public sealed class ModbusException : Exception
{
    /// <summary>Creates the exception for a function and the code the server sent.</summary>
    public ModbusException(byte function, ModbusExceptionCode code)
        : base($"The server answered function 0x{function:X2} with exception {(byte)code:X2}, {Describe(code)}.")
    {
        Function = function;
        Code = code;
    }

    /// <summary>The request's function code.</summary>
    public byte Function { get; }

    /// <summary>The exception code.</summary>
    public ModbusExceptionCode Code { get; }

    /// <summary>What an exception code means, in words, as the specification defines it (section 7).</summary>
    public static string Describe(ModbusExceptionCode code) => code switch
    {
        ModbusExceptionCode.IllegalFunction =>
            "illegal function: the server does not allow this function code (not implemented, not allowed in its state, or not for this client)",
        ModbusExceptionCode.IllegalDataAddress =>
            "illegal data address: the server does not allow this address or range (outside its tables, or not writable there)",
        ModbusExceptionCode.IllegalDataValue =>
            "illegal data value: a value in the request is not allowed (a quantity, a byte count, or the value itself)",
        ModbusExceptionCode.ServerDeviceFailure => "server device failure: an unrecoverable error occurred while the server performed the action",
        ModbusExceptionCode.Acknowledge => "acknowledge: the server accepted the request, but processing takes long",
        ModbusExceptionCode.ServerDeviceBusy => "server device busy: the server is processing a long-duration command; retry later",
        ModbusExceptionCode.MemoryParityError => "memory parity error: the server found a parity error in its extended memory (function 0x14/0x15)",
        ModbusExceptionCode.GatewayPathUnavailable => "gateway path unavailable: the gateway has no path to the target unit (misconfigured or overloaded)",
        ModbusExceptionCode.GatewayTargetDeviceFailedToRespond =>
            "gateway target device failed to respond: no device answered for this unit (absent, down or silent)",
        _ => "an exception code the specification does not define",
    };
}
