namespace Mcpd.Server.Security;

/// <summary>What a request does to a device: reads it, or changes it.</summary>
public enum AccessKind
{
    /// <summary>Reads values, identification or diagnostics; changes nothing a client wrote.</summary>
    Read,

    /// <summary>Writes coils or registers, or anything else that changes the device.</summary>
    Write,
}
