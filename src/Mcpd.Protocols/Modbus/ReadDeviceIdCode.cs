namespace Mcpd.Protocols.Modbus;

/// <summary>Read Device ID codes of FC2B / MEI 0x0E (Modbus Application Protocol V1.1b3, 6.21).</summary>
public enum ReadDeviceIdCode : byte
{
    /// <summary>01: basic identification (objects 0x00..0x02), stream access.</summary>
    Basic = 0x01,
    /// <summary>02: regular identification (objects 0x00..0x7F), stream access.</summary>
    Regular = 0x02,
    /// <summary>03: extended identification (objects 0x00..0xFF), stream access.</summary>
    Extended = 0x03,
    /// <summary>04: one specific object, individual access.</summary>
    Individual = 0x04,
}
