namespace Mcpd.Protocols.Modbus;

/// <summary>Object ids and categories of Read Device Identification (Modbus Application Protocol V1.1b3, 6.21).</summary>
public static class DeviceIdentificationObjects
{
    /// <summary>MEI type of Read Device Identification inside FC2B.</summary>
    public const byte MeiType = 0x0E;

    /// <summary>0x00 VendorName (basic, mandatory).</summary>
    public const byte VendorName = 0x00;
    /// <summary>0x01 ProductCode (basic, mandatory).</summary>
    public const byte ProductCode = 0x01;
    /// <summary>0x02 MajorMinorRevision (basic, mandatory).</summary>
    public const byte MajorMinorRevision = 0x02;
    /// <summary>0x03 VendorUrl (regular).</summary>
    public const byte VendorUrl = 0x03;
    /// <summary>0x04 ProductName (regular).</summary>
    public const byte ProductName = 0x04;
    /// <summary>0x05 ModelName (regular).</summary>
    public const byte ModelName = 0x05;
    /// <summary>0x06 UserApplicationName (regular).</summary>
    public const byte UserApplicationName = 0x06;
    /// <summary>First private (extended) object id; 0x80..0xFF are device specific.</summary>
    public const byte FirstPrivate = 0x80;

    /// <summary>Response header: function code, MEI type, read code, conformity, more follows, next object id, count.</summary>
    public const int ResponseHeaderLength = 7;

    /// <summary>Largest object value: it must fit whole in one response next to the header and its id/length bytes.</summary>
    public const int MaxObjectLength = ModbusLimits.MaxPduLength - ResponseHeaderLength - 2;

    /// <summary>Highest object id that stream access with <paramref name="code"/> returns (categories nest).</summary>
    public static byte LastObjectOf(ReadDeviceIdCode code) => code switch
    {
        ReadDeviceIdCode.Basic => MajorMinorRevision,
        ReadDeviceIdCode.Regular => 0x7F,
        _ => 0xFF,
    };

    /// <summary>Conventional name of a standard object, or "private 0xNN".</summary>
    public static string NameOf(byte objectId) => objectId switch
    {
        VendorName => "VendorName",
        ProductCode => "ProductCode",
        MajorMinorRevision => "MajorMinorRevision",
        VendorUrl => "VendorUrl",
        ProductName => "ProductName",
        ModelName => "ModelName",
        UserApplicationName => "UserApplicationName",
        _ => $"0x{objectId:X2}",
    };
}
