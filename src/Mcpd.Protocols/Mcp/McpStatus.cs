namespace Mcpd.Protocols.Mcp;

/// <summary>MCP status codes (u16). New codes are only ever added after the last one.</summary>
public enum McpStatus : ushort
{
    /// <summary>0: success.</summary>
    Ok = 0,
    /// <summary>1: the request is malformed.</summary>
    BadRequest = 1,
    /// <summary>2: no such method.</summary>
    NotFound = 2,
    /// <summary>3: missing or wrong credentials.</summary>
    Unauthorized = 3,
    /// <summary>4: not allowed.</summary>
    Forbidden = 4,
    /// <summary>5: no answer in time.</summary>
    Timeout = 5,
    /// <summary>6: a needed service is unreachable.</summary>
    Unavailable = 6,
    /// <summary>7: a queue is full; retry later.</summary>
    Overloaded = 7,
    /// <summary>8: the session is unknown or expired.</summary>
    SessionExpired = 8,
    /// <summary>9: the device answered with an exception.</summary>
    DeviceException = 9,
    /// <summary>10: an unexpected server error.</summary>
    Internal = 10,
    /// <summary>11: the frame's version is not 1.</summary>
    UnsupportedVersion = 11,
    /// <summary>12: the frame's payload exceeds the configured maximum.</summary>
    FrameTooLarge = 12,
    /// <summary>13: the server is shutting down.</summary>
    ShuttingDown = 13,
}
