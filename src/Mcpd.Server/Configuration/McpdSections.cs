namespace Mcpd.Server.Configuration;

/// <summary>
/// The keys of the root sections of mcpd's configuration, as <see cref="McpdOptions"/> names them (its properties
/// bind by the same names) and as the sections are bound for the classes that read one of them.
/// </summary>
public static class McpdSections
{
    /// <summary>The Modbus TCP listener.</summary>
    public const string Modbus = "modbus";

    /// <summary>The MCP listeners.</summary>
    public const string Mcp = "mcp";

    /// <summary>The HTTP admin listener.</summary>
    public const string Admin = "admin";

    /// <summary>The agent endpoint (Model Context Protocol) on the admin listener.</summary>
    public const string Agent = "agent";

    /// <summary>The socket layer under the listeners.</summary>
    public const string Transport = "transport";

    /// <summary>Links to real devices, by name.</summary>
    public const string Upstreams = "upstreams";

    /// <summary>The devices served.</summary>
    public const string Devices = "devices";

    /// <summary>Routing of MCP requests.</summary>
    public const string Routing = "routing";

    /// <summary>Other mcpd nodes that requests may be forwarded to.</summary>
    public const string Nodes = "nodes";

    /// <summary>Sessions that survive reconnects.</summary>
    public const string Sessions = "sessions";

    /// <summary>This node among several sharing sessions.</summary>
    public const string Cluster = "cluster";

    /// <summary>What clients wrote to simulated devices, kept across restarts.</summary>
    public const string Persistence = "persistence";

    /// <summary>Who may do what: roles and their rules.</summary>
    public const string Security = "security";

    /// <summary>Metrics, tracing and their export.</summary>
    public const string Telemetry = "telemetry";

    /// <summary>Log levels per category: read by Microsoft.Extensions.Logging, not an mcpd option, never reported as unknown.</summary>
    public const string Logging = "logging";
}
