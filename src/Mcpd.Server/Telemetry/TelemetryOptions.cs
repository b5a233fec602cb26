namespace Mcpd.Server.Telemetry;

/// <summary>Metrics, tracing and their export (config section <c>telemetry</c>, docs/observability.md).</summary>
public sealed class TelemetryOptions
{
    /// <summary>The <c>Mcpd</c> meter and its Prometheus endpoint <c>GET /metrics</c> on the admin listener.</summary>
    public TelemetryMetricsOptions Metrics { get; set; } = new();

    /// <summary>Spans of the <c>Mcpd</c> activity source.</summary>
    public TelemetryTracingOptions Tracing { get; set; } = new();

    /// <summary>Export of spans and metrics over OTLP; none unless an endpoint is set.</summary>
    public OtlpOptions Otlp { get; set; } = new();
}

/// <summary>Config section <c>telemetry:metrics</c>.</summary>
public sealed class TelemetryMetricsOptions
{
    /// <summary>False: no metrics are collected and <c>/metrics</c> is not served.</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>Config section <c>telemetry:tracing</c>.</summary>
public sealed class TelemetryTracingOptions
{
    /// <summary>False: no spans are started, even when a listener asks for them (trace ids still travel in headers and logs).</summary>
    public bool Enabled { get; set; } = true;
}

/// <summary>Config section <c>telemetry:otlp</c>.</summary>
public sealed class OtlpOptions
{
    /// <summary>The OTLP collector (for example <c>http://127.0.0.1:4317</c>, gRPC); empty: nothing is exported.</summary>
    public string? Endpoint { get; set; }
}
