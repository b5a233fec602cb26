using System.Diagnostics;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Telemetry;

namespace Mcpd.Server.Mcp;

/// <summary>What the answer of a request needs from its start: the method's metric tag, the timestamp, the span (or null).</summary>
internal readonly record struct McpRequestStart(string MethodTag, long Started, Activity? Span)
{
    /// <summary>The trace id of a request answered inline: its span's, else its traceparent's, else a new one.</summary>
    public string TraceIdOf(in McpRequest request) =>
        McpdTracing.TraceIdOf(Span, Span is null ? request.Headers[McpHeaderNames.TraceParent] : null);
}
