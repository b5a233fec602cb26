using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Agent;

/// <summary>The agent endpoint's log events (1020..1039; docs/architecture.md); its writes are the audit event 410.</summary>
internal static partial class AgentLog
{
    /// <summary>The category of the agent endpoint's lines.</summary>
    public const string Category = "Mcpd.Server.Agent";

    [LoggerMessage(EventId = 1020, Level = LogLevel.Information, Message = "Agent endpoint (Model Context Protocol): {Caller} was refused a tool call to {Tool}: {Reason}")]
    public static partial void ToolRefused(ILogger logger, string caller, string tool, string reason);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Debug, Message = "Agent endpoint: a subscription to {Uri} ended: {Reason}")]
    public static partial void SubscriptionEnded(ILogger logger, string uri, string reason);
}
