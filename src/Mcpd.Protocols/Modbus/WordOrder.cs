namespace Mcpd.Protocols.Modbus;

/// <summary>
/// Order of the two registers of a 32-bit value. The spec defines only 16-bit registers, so devices differ:
/// most send the high word first ("ABCD", Modbus's big-endian convention), many PLCs the low word first ("CDAB").
/// Bytes within each register are always big-endian.
/// </summary>
public enum WordOrder
{
    /// <summary>Register N holds the high 16 bits ("ABCD", big-endian).</summary>
    HighWordFirst,
    /// <summary>Register N holds the low 16 bits ("CDAB", word-swapped).</summary>
    LowWordFirst,
}
