using Mcpd.Server.Devices;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Admin;

/// <summary>The admin API's log events (1000..1019, and the audit event 410; docs/architecture.md): callers by name and role, never a token.</summary>
internal static partial class AdminLog
{
    /// <summary>The category of the admin API's lines.</summary>
    public const string Category = "Mcpd.Server.Admin";

    [LoggerMessage(EventId = 1000, Level = LogLevel.Warning, Message = "Admin API: a request from {Address} failed authentication ({Reason}); more failures from this address are counted (mcpd_admin_auth_failures_total) but not logged for {Window}, and after {Limit} of them its requests are answered 429 until then")]
    public static partial void AuthenticationFailed(ILogger logger, string address, string reason, TimeSpan window, int limit);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Admin API: {Method} {Path} refused (403): {Refusal}")]
    public static partial void Refused(ILogger logger, string method, string path, string refusal);

    /// <summary>The audit line every listener writes for an allowed write (event 410, as <c>ClientAuthorization</c>'s).</summary>
    [LoggerMessage(EventId = 410, Level = LogLevel.Information, Message = "{Listener}: {Client} (role {Role}) writes unit {Unit}, {Table} {Address} x{Count}")]
    public static partial void Written(ILogger logger, string listener, string client, string role, byte unit, RegisterTable table, int address, int count);
}
