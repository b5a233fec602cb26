using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Configuration;

/// <summary>Log events of hot reload (event ids 2..9).</summary>
internal static partial class ConfigurationLog
{
    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Configuration changed: applied (read, checked and applied in {Milliseconds} ms)")]
    public static partial void Applied(ILogger logger, long milliseconds);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "Configuration change rejected, the running configuration stays ({Count} problem(s)): {Problems}")]
    public static partial void Rejected(ILogger logger, int count, string problems);
}
