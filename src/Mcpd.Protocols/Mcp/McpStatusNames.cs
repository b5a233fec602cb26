namespace Mcpd.Protocols.Mcp;

/// <summary>The UPPER_SNAKE names of the status codes, as docs/protocol.md lists them.</summary>
public static class McpStatusNames
{
    /// <summary>The name of <paramref name="status"/>, or STATUS_n for a code this version does not know.</summary>
    public static string Of(McpStatus status) => status switch
    {
        McpStatus.Ok => "OK",
        McpStatus.BadRequest => "BAD_REQUEST",
        McpStatus.NotFound => "NOT_FOUND",
        McpStatus.Unauthorized => "UNAUTHORIZED",
        McpStatus.Forbidden => "FORBIDDEN",
        McpStatus.Timeout => "TIMEOUT",
        McpStatus.Unavailable => "UNAVAILABLE",
        McpStatus.Overloaded => "OVERLOADED",
        McpStatus.SessionExpired => "SESSION_EXPIRED",
        McpStatus.DeviceException => "DEVICE_EXCEPTION",
        McpStatus.Internal => "INTERNAL",
        McpStatus.UnsupportedVersion => "UNSUPPORTED_VERSION",
        McpStatus.FrameTooLarge => "FRAME_TOO_LARGE",
        McpStatus.ShuttingDown => "SHUTTING_DOWN",
        _ => $"STATUS_{(ushort)status}",
    };
}
