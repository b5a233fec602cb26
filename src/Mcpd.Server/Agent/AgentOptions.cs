namespace Mcpd.Server.Agent;

/// <summary>
/// The agent endpoint (config section <c>agent</c>, docs/agents.md): mcpd's devices as tools, resources and prompts
/// of the Model Context Protocol, for AI assistants, at <c>/mcp</c> on the admin listener and through <c>mcpd agent</c>.
/// </summary>
public sealed class AgentOptions
{
    /// <summary>False: no <c>/mcp</c> on the admin listener.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// False (the default): <c>write_register</c> is refused, whatever the caller's role. True: it writes what the
    /// caller's role may write (<c>security:roles</c>), as the admin API would, and each write is an audit line.
    /// </summary>
    public bool AllowWrites { get; set; }

    /// <summary>Tool calls one caller may make per <see cref="ToolCallWindow"/>; past it a call is answered as a tool error until the window ends.</summary>
    public int MaxToolCalls { get; set; } = 120;

    /// <summary>The window of <see cref="MaxToolCalls"/>; it starts with a caller's first call.</summary>
    public TimeSpan ToolCallWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The MCP methods (our message protocol) that <c>call_method</c> may call, on this node's plain MCP listener;
    /// the caller's role must allow them too. <c>modbus.pdu</c> is never called: registers go through the checked tools.
    /// </summary>
    public IList<string> Methods { get; init; } = ["sys.info", "sys.echo"];

    /// <summary>How often a subscribed values resource is read to notice a change.</summary>
    public TimeSpan SubscriptionInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Subscriptions one agent session may hold at once.</summary>
    public int MaxSubscriptions { get; set; } = 16;
}
