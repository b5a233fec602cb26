using System.Text.Json;
using Mcpd.Server.Connections;
using Mcpd.Server.Hosting;

namespace Mcpd.Server.Mcp;

/// <summary>What <c>sys.info</c> reports: name, version, uptime, connections per listener.</summary>
internal sealed class McpServerInfo(ConnectionRegistry connections, TimeProvider time)
{
    private readonly DateTimeOffset _started = time.GetUtcNow();

    public static string Version { get; } = typeof(McpServerInfo).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public byte[] ToJson(DateTimeOffset now) => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["name"] = "mcpd",
        ["version"] = Version,
        ["uptimeSeconds"] = Math.Round((now - _started).TotalSeconds, 3),
        ["connections"] = new Dictionary<string, int>
        {
            [ListenerNames.Modbus] = connections.Count(ListenerNames.Modbus),
            [ListenerNames.Mcp] = connections.Count(ListenerNames.Mcp),
            [ListenerNames.McpCrc] = connections.Count(ListenerNames.McpCrc),
        },
    });
}
