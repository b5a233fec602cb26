using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Telemetry;

/// <summary>
/// The spans of mcpd, all from one <see cref="ActivitySource"/> named <c>Mcpd</c>: a request span per MCP request
/// (its parent is the caller's <c>traceparent</c>) and per Modbus request, and child spans for the routing steps
/// (lane, forward) and upstream calls. Spans exist only while a listener samples them (an exporter, a test's
/// <see cref="ActivityListener"/>): otherwise every Start method returns null and costs no allocation, so the hot
/// paths stay allocation-free. Child spans start only under a request span, so <c>telemetry:tracing:enabled: false</c>
/// turns them all off.
/// </summary>
internal sealed class McpdTracing(IOptions<TelemetryOptions> options)
{
    /// <summary>The activity source's name, as exporters and listeners select it.</summary>
    public const string SourceName = "Mcpd";

    /// <summary>W3C Trace Context: the header carrying vendor state beside <c>traceparent</c>.</summary>
    public const string TraceStateHeader = "tracestate";

    public static readonly ActivitySource Source = new(SourceName);

    private readonly bool _enabled = options.Value.Tracing.Enabled;

    /// <summary>True when request spans would be recorded: tracing is enabled and a listener is attached.</summary>
    public bool IsListening => _enabled && Source.HasListeners();

    /// <summary>
    /// The span of one MCP request, child of <paramref name="traceparent"/> when it parses, or null. It becomes
    /// <see cref="Activity.Current"/>. Call it only when <see cref="IsListening"/> (reading the headers allocates).
    /// </summary>
    public static Activity? StartMcpRequest(ReadOnlySpan<char> method, string? traceparent, string? tracestate)
    {
        ActivityContext.TryParse(traceparent, tracestate, isRemote: true, out var parent);
        var span = Source.StartActivity("mcp.request", ActivityKind.Server, parent);
        span?.SetTag("mcp.method", new string(method));
        return span;
    }

    /// <summary>The span of one Modbus TCP request (no trace context travels in Modbus); null when nobody listens.</summary>
    public Activity? StartModbusRequest(byte unit, byte function)
    {
        if (!IsListening)
        {
            return null;
        }

        var span = Source.StartActivity("modbus.request", ActivityKind.Server);
        span?.SetTag("modbus.unit", unit);
        span?.SetTag("modbus.function", function);
        return span;
    }

    /// <summary>True inside a request span of ours that a listener samples: steps of the request get spans of their own.</summary>
    public static bool InRequestSpan => Activity.Current?.Source == Source && Source.HasListeners();

    /// <summary>
    /// A routing or upstream step of the request whose span is current, as the new <see cref="Activity.Current"/>;
    /// null outside a request span. Start it inside an async method, so the caller's current span stays its own.
    /// </summary>
    public static Activity? StartStep(string name, ActivityKind kind, string tag, string value)
    {
        if (!InRequestSpan)
        {
            return null;
        }

        var span = Source.StartActivity(name, kind);
        span?.SetTag(tag, value);
        return span;
    }

    /// <summary>
    /// A request went asynchronous and took <paramref name="span"/> with it (it stops the span when it answers): the
    /// read loop goes on under the span's parent.
    /// </summary>
    public static void Detach(Activity? span)
    {
        if (span is not null)
        {
            Activity.Current = span.Parent;
        }
    }

    /// <summary>
    /// W3C Trace Context for a request sent on (forward): under a span of ours, <c>traceparent</c> names that span
    /// as the parent, so the next node's spans hang below it; otherwise the headers stay as they are.
    /// </summary>
    public static void ContinueIn(List<KeyValuePair<string, string>> headers)
    {
        if (Activity.Current is not { } current || current.Source != Source || current.IdFormat != ActivityIdFormat.W3C)
        {
            return;
        }

        headers.RemoveAll(static header => header.Key is Protocols.Mcp.McpHeaderNames.TraceParent or TraceStateHeader);
        headers.Add(new(Protocols.Mcp.McpHeaderNames.TraceParent, current.Id!));
        if (current.TraceStateString is { } traceState)
        {
            headers.Add(new(TraceStateHeader, traceState));
        }
    }

    /// <summary>The trace id a request answers and logs with: its span's when it has one, else the caller's (or a new one).</summary>
    public static string TraceIdOf(Activity? span, string? traceparent) =>
        span is null ? Protocols.Mcp.McpErrorBody.TraceIdOf(traceparent) : span.TraceId.ToHexString();
}
