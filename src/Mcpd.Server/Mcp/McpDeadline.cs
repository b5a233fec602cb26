using System.Globalization;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Server.Mcp;

/// <summary>
/// The absolute deadline a forwarded request carries: header <c>mcpd-deadline</c>, Unix time in milliseconds. Absolute,
/// not a relative timeout as gRPC's <c>grpc-timeout</c>, because a node that was stopped (SIGSTOP, a long pause) reads
/// old requests from its socket after it resumes: a relative timeout would start again there, and a device would run
/// calls whose callers were told TIMEOUT long ago. Every hop drops work whose deadline has passed. The nodes' clocks
/// are assumed to agree (NTP) to well within the call timeout; a clock ahead by more drops calls early.
/// </summary>
internal static class McpDeadline
{
    public const string Header = "mcpd-deadline";

    /// <summary>The request's deadline; null when it has none (or one that is not a count of milliseconds).</summary>
    public static DateTimeOffset? Of(McpIncomingRequest request) =>
        request.Header(Header) is { } value && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds)
            && milliseconds <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds()
            ? DateTimeOffset.FromUnixTimeMilliseconds(milliseconds)
            : null;

    /// <summary>The earlier of the request's deadline and <paramref name="timeout"/> from now.</summary>
    public static DateTimeOffset Within(McpIncomingRequest request, TimeSpan timeout, TimeProvider time)
    {
        var own = time.GetUtcNow() + timeout;
        return Of(request) is { } callers && callers < own ? callers : own;
    }

    public static string Format(DateTimeOffset deadline) => deadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>The answer to work dropped because its caller's deadline passed before <paramref name="step"/>.</summary>
    public static McpReply Passed(string step) => McpReply.Error(McpStatus.Timeout, $"the caller's deadline passed before {step}: the call was dropped");
}
