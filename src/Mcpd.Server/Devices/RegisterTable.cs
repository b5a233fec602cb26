namespace Mcpd.Server.Devices;

/// <summary>The four Modbus data tables (Modbus Application Protocol V1.1b3, 4.3).</summary>
public enum RegisterTable
{
    /// <summary>Read-write bits (0xxxx), FC01/05/0F.</summary>
    Coils,
    /// <summary>Read-only bits (1xxxx), FC02.</summary>
    Discrete,
    /// <summary>Read-write registers (4xxxx), FC03/06/10/16/17.</summary>
    Holding,
    /// <summary>Read-only registers (3xxxx), FC04.</summary>
    Input,
}
