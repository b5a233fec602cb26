using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Admin;

/// <summary>The admin API's log events (1000..1019, docs/architecture.md): callers by name and role, never a token.</summary>
internal static partial class AdminLog
{
    /// <summary>The category of the admin API's lines.</summary>
    public const string Category = "Mcpd.Server.Admin";

    [LoggerMessage(EventId = 1000, Level = LogLevel.Warning, Message = "Admin API: a request from {Address} failed authentication ({Reason}); more failures from this address are counted (mcpd_admin_auth_failures_total) but not logged for {Window}, and after {Limit} of them its requests are answered 429 until then")]
    public static partial void AuthenticationFailed(ILogger logger, string address, string reason, TimeSpan window, int limit);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Admin API: {Method} {Path} refused (403): {Refusal}")]
    public static partial void Refused(ILogger logger, string method, string path, string refusal);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Admin API: {Caller} wrote {Count} {Table} value(s) from address {Address} of unit {Unit}")]
    public static partial void Written(ILogger logger, string caller, int count, string table, int address, int unit);
}
