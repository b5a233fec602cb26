namespace Mcpd.Server.Devices;

/// <summary>Read Device Identification objects (Modbus Application Protocol V1.1b3, 6.21), each at most 244 bytes.</summary>
public sealed class DeviceIdentificationOptions
{
    /// <summary>Object 0x00 (basic, mandatory).</summary>
    public string VendorName { get; set; } = "mcpd";

    /// <summary>Object 0x01 (basic, mandatory).</summary>
    public string ProductCode { get; set; } = "MCPD-SIM";

    /// <summary>Object 0x02 (basic, mandatory).</summary>
    public string MajorMinorRevision { get; set; } = typeof(DeviceIdentificationOptions).Assembly.GetName().Version?.ToString(2) ?? "0.1";

    /// <summary>Object 0x03 (regular).</summary>
    public string? VendorUrl { get; set; }

    /// <summary>Object 0x04 (regular).</summary>
    public string? ProductName { get; set; } = "mcpd simulated device";

    /// <summary>Object 0x05 (regular).</summary>
    public string? ModelName { get; set; } = "simulator";

    /// <summary>Object 0x06 (regular).</summary>
    public string? UserApplicationName { get; set; }

    /// <summary>Private objects 0x80..0xFF, keyed by id in hex ("0x80") or decimal ("128").</summary>
    public IDictionary<string, string> Private { get; init; } = new Dictionary<string, string>();
}
