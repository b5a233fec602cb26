using System.Buffers;
using System.Buffers.Text;
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

    /// <summary>The answer's text when a node reads a request whose deadline has passed.</summary>
    public const string PassedOnArrival = "the caller's deadline passed before this node read the request: the call was dropped";

    /// <summary>The longest deadline value: the digits of <see cref="long.MaxValue"/>.</summary>
    private const int MaxDigits = 19;

    public static ReadOnlySpan<byte> HeaderUtf8 => "mcpd-deadline"u8;

    /// <summary>True when <paramref name="headers"/> carry a deadline that has passed; reads them without allocating.</summary>
    public static bool HasPassed(in McpHeaders headers, TimeProvider time)
    {
        if (headers.Count == 0 || !headers.TryFind(HeaderUtf8, out var value) || value.IsEmpty || value.Length > MaxDigits)
        {
            return false;
        }

        Span<byte> digits = stackalloc byte[MaxDigits];
        value.CopyTo(digits);
        digits = digits[..(int)value.Length];
        // Digits only, as Of reads them: a value that is not a deadline is none.
        return digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0
            && Utf8Parser.TryParse(digits, out long milliseconds, out _)
            && milliseconds <= time.GetUtcNow().ToUnixTimeMilliseconds();
    }

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
