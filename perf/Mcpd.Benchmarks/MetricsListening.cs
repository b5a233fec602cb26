using System.Diagnostics.Metrics;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Mcpd.Benchmarks;

/// <summary>Who listens to the <c>Mcpd</c> meter while a benchmark runs: the request path records into it either way.</summary>
public enum MetricsListener
{
    /// <summary>Nobody: recording is a check of <c>Instrument.Enabled</c>.</summary>
    None,

    /// <summary>A <see cref="MeterListener"/> receiving every measurement (what a test or dotnet-counters does).</summary>
    MeterListener,

    /// <summary>The OpenTelemetry SDK aggregating every measurement, as the Prometheus exporter of the server does.</summary>
    OpenTelemetry,
}

/// <summary>
/// An <see cref="McpdMetrics"/> on a meter of its own with <see cref="MetricsListener"/> attached; disposing detaches it.
/// The benchmarks use it to show that recording a request allocates nothing (docs/performance.md).
/// </summary>
internal sealed class MetricsListening : IDisposable
{
    private readonly ServiceProvider _services;
    private readonly MeterListener? _listener;
    private readonly MeterProvider? _provider;
    private long _measurements;

    public MetricsListening(MetricsListener listener)
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        Metrics = new McpdMetrics(_services.GetRequiredService<IMeterFactory>());
        if (listener == MetricsListener.MeterListener)
        {
            _listener = new MeterListener
            {
                InstrumentPublished = (instrument, meterListener) =>
                {
                    if (instrument.Meter == Metrics.Meter)
                    {
                        meterListener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _listener.SetMeasurementEventCallback<long>((_, _, _, _) => _measurements++);
            _listener.SetMeasurementEventCallback<double>((_, _, _, _) => _measurements++);
            _listener.Start();
        }
        else if (listener == MetricsListener.OpenTelemetry)
        {
            // Collected only at dispose: the benchmark measures recording, not exporting.
            _provider = Sdk.CreateMeterProviderBuilder()
                .AddMeter(McpdMetrics.MeterName)
                .AddReader(new PeriodicExportingMetricReader(new DiscardingExporter(), exportIntervalMilliseconds: int.MaxValue))
                .Build();
        }
    }

    public McpdMetrics Metrics { get; }

    /// <summary>Sanity check after a warm-up request: an attached <see cref="MeterListener"/> has received measurements.</summary>
    public void EnsureListened()
    {
        if (_listener is not null && _measurements == 0)
        {
            throw new InvalidOperationException("The MeterListener received no measurement: the benchmark would not measure recording.");
        }
    }

    public void Dispose()
    {
        _listener?.Dispose();
        _provider?.Dispose();
        _services.Dispose();
    }

    private sealed class DiscardingExporter : BaseExporter<Metric>
    {
        public override ExportResult Export(in Batch<Metric> batch) => ExportResult.Success;
    }
}
