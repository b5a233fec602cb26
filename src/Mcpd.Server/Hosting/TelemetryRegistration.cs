using System.Diagnostics.Metrics;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Mcpd.Server.Hosting;

/// <summary>
/// Wires metrics and tracing into the host (config section <c>telemetry</c>): the <c>Mcpd</c> meter exported by
/// OpenTelemetry in Prometheus text at <c>GET /metrics</c> of the admin listener, and OTLP export of spans and
/// metrics when <c>telemetry:otlp:endpoint</c> is set. Without an endpoint no tracer provider is registered, so
/// nothing listens to the activity source and no span is made.
/// </summary>
internal static class TelemetryRegistration
{
    /// <summary>The <c>service.name</c> of exported spans and metrics.</summary>
    public const string ServiceName = "mcpd";

    /// <summary>Registers the meter, the tracing switch and the exporters configured in <paramref name="section"/> (<c>telemetry</c>).</summary>
    public static IServiceCollection AddMcpdTelemetry(this IServiceCollection services, IConfiguration section)
    {
        services.AddMetrics();
        services.AddSingleton<McpdMetrics>();
        services.AddSingleton<McpdTracing>();
        services.AddSingleton<ModbusRequestLog>();
        var options = section.Get<TelemetryOptions>() ?? new TelemetryOptions();
        // An endpoint that does not parse is reported by the validation at start (TelemetryValidation).
        var endpoint = Uri.TryCreate(options.Otlp.Endpoint, UriKind.Absolute, out var parsed) ? parsed : null;
        if (!options.Metrics.Enabled && (endpoint is null || !options.Tracing.Enabled))
        {
            return services;
        }

        var telemetry = services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(ServiceName));
        if (options.Metrics.Enabled)
        {
            services.AddSingleton<McpdObservedMetrics>();
            services.AddHostedService(provider => provider.GetRequiredService<McpdObservedMetrics>());
            telemetry.WithMetrics(metrics =>
            {
                metrics.AddMeter(McpdMetrics.MeterName).AddPrometheusExporter();
                // A meter provider hears every meter of that name in the process; this host's come from its own factory.
                ((IDeferredMeterProviderBuilder)metrics).Configure((provider, builder) =>
                {
                    var ownMeters = provider.GetRequiredService<IMeterFactory>();
                    builder.AddView(instrument => instrument.Meter.Scope == ownMeters ? null : MetricStreamConfiguration.Drop);
                });
                if (endpoint is not null)
                {
                    metrics.AddOtlpExporter(otlp => otlp.Endpoint = endpoint);
                }
            });
        }

        if (options.Tracing.Enabled && endpoint is not null)
        {
            telemetry.WithTracing(tracing => tracing.AddSource(McpdTracing.SourceName).AddOtlpExporter(otlp => otlp.Endpoint = endpoint));
        }

        return services;
    }
}
