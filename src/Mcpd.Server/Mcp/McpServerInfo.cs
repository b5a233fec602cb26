using System.Text.Json;
using Mcpd.Server.Connections;
using Mcpd.Server.Gateway;

namespace Mcpd.Server.Mcp;

/// <summary>
/// What <c>sys.info</c> reports: name, version, uptime, connections per listener, and each upstream's kind, address
/// and health (<see cref="UpstreamState"/>).
/// </summary>
internal sealed class McpServerInfo(ConnectionRegistry connections, UpstreamRegistry upstreams, TimeProvider time)
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
        ["upstreams"] = Upstreams(),
    });

    /// <summary>Every upstream: kind, address (<see cref="IModbusUpstream.Address"/>) and health state; also served by the admin API.</summary>
    public Dictionary<string, Dictionary<string, string?>> Upstreams() => upstreams.All.ToDictionary(u => u.Name, u => new Dictionary<string, string?>
    {
        ["kind"] = u.Kind,
        ["address"] = u.Address,
        ["state"] = u.State.ToString(),
    });
}
