namespace Mcpd.Protocols.Modbus;

/// <summary>
/// How the length of a request or response PDU is read from its own first bytes (the layouts of Application
/// Protocol V1.1b3, section 6). RTU has no length field, so its framing depends on this (Serial Line V1.02, 2.5.1.1).
/// </summary>
public enum ModbusPduLayout : byte
{
    /// <summary>A function this table does not know: the length cannot be found.</summary>
    Unknown,

    /// <summary>Always <see cref="ModbusFunctionDescriptor"/>'s fixed length.</summary>
    Fixed,

    /// <summary>A byte count at a fixed offset, then that many bytes (6.1-6.4, 6.10-6.15, 6.17).</summary>
    ByteCount,

    /// <summary>A 16-bit byte count at a fixed offset, then that many bytes (FC18 response, 6.18).</summary>
    WordByteCount,

    /// <summary>
    /// FC08 (6.8): sub-function, then one data word; sub-function 00 Return Query Data carries any number of data
    /// words and its response is identical to the request (6.8.1).
    /// </summary>
    Diagnostics,

    /// <summary>
    /// FC2B (6.19): only MEI type 0x0E Read Device Identification is known (6.21): a 4-byte request, a response
    /// walked object by object (it has no total length).
    /// </summary>
    EncapsulatedInterface,
}
