namespace Mcpd.Protocols.Modbus;

/// <summary>What a normal response repeats of its request and what length the request implies (Application Protocol 6.x).</summary>
public enum ModbusResponseShape : byte
{
    /// <summary>Only the function code is repeated; the length depends on the device's data.</summary>
    FunctionOnly,

    /// <summary>Byte count = ceil(quantity / 8), the quantity being the request's word at offset 3 (6.1, 6.2).</summary>
    PackedBits,

    /// <summary>Byte count = 2 x quantity, the quantity being the request's word at offset 3 (6.3, 6.4, 6.17).</summary>
    Registers,

    /// <summary>The response is the request's first bytes, as many as the descriptor's fixed response length (6.5, 6.6, 6.11, 6.12, 6.16).</summary>
    Echo,

    /// <summary>FC08 (6.8.1): sub-function 00 echoes the whole request; the others repeat the sub-function, then one data word.</summary>
    Diagnostics,

    /// <summary>FC2B (6.19, 6.21): the function and the MEI type are repeated; the objects make the length.</summary>
    EncapsulatedInterface,
}
