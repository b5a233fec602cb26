namespace Mcpd.Server.Connections;

/// <summary>Names of mcpd's listeners, as used in <see cref="ListenerEndpoints"/>, the connection registry and logs.</summary>
public static class ListenerNames
{
    /// <summary>The Modbus TCP listener.</summary>
    public const string Modbus = "modbus";

    /// <summary>The Modbus/TCP Security listener (Modbus over mutual TLS, port 802).</summary>
    public const string ModbusSecure = "modbus-tls";

    /// <summary>The plain MCP listener.</summary>
    public const string Mcp = "mcp";

    /// <summary>The CRC-framed MCP listener.</summary>
    public const string McpCrc = "mcp-crc";

    /// <summary>The HTTP admin listener.</summary>
    public const string Admin = "admin";
}
