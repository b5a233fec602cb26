using System.Diagnostics;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Hosting;

namespace Mcpd.Server.Dashboard;

/// <summary>
/// What the live streams (<see cref="LiveEndpoint"/>) share. Always, every second: the register history and the
/// upstreams' health history (neither touches a connection). Only while at least one stream is open
/// (<see cref="Watch"/>): the request log records (at most <see cref="RequestsPerTick"/> requests per
/// <see cref="Tick"/>, the rest are left out), the last <see cref="KeptRequests"/> are kept decoded, and the traffic
/// meter hears the latency histograms, one figure per second, the last <see cref="KeptTraffic"/> kept.
/// </summary>
internal sealed class DashboardHub(
    ModbusRequestLog requestLog, TrafficMeter traffic, RegisterHistory registers, UpstreamHistory upstreams, TimeProvider time) : BackgroundService
{
    /// <summary>How often the request log is read and its budget renewed; streams send at this pace too.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Requests the log may record per tick: 200 a second at most, more than a person reads; decoding and sending
    /// more cost the Modbus path measurably on a small machine (docs/performance.md).
    /// </summary>
    public const int RequestsPerTick = 50;

    /// <summary>Decoded requests kept for streams that open later or read later.</summary>
    public const int KeptRequests = 500;

    /// <summary>Traffic figures kept: two minutes.</summary>
    public const int KeptTraffic = 120;

    private const int TicksPerSecond = 4;

    private readonly Queue<LoggedRequest> _requests = new();
    private readonly Queue<TrafficSample> _traffic = new();
    private readonly List<ModbusRequestRecord> _read = [];
    private int _watchers;
    private long _logPosition;
    private long _sequence;
    private long _trafficTimestamp = Stopwatch.GetTimestamp();

    public RegisterHistory Registers => registers;

    public UpstreamHistory Upstreams => upstreams;

    /// <summary>Counts a stream as watching until the result is disposed; the first starts the recording, the last stops it.</summary>
    public IDisposable Watch()
    {
        lock (_requests)
        {
            if (_watchers++ == 0)
            {
                _logPosition = requestLog.Next;
                requestLog.Grant(RequestsPerTick);
                requestLog.Watch(true);
                traffic.Collect(Stopwatch.GetElapsedTime(_trafficTimestamp));
                _trafficTimestamp = Stopwatch.GetTimestamp();
                traffic.Enable(true);
            }
        }

        return new Watcher(this);
    }

    /// <summary>The requests kept with a sequence number above <paramref name="after"/>, oldest first.</summary>
    public List<LoggedRequest> RequestsAfter(long after)
    {
        lock (_requests)
        {
            return [.. _requests.Where(r => r.Sequence > after)];
        }
    }

    /// <summary>The traffic figures kept from <paramref name="after"/> on, oldest first.</summary>
    public List<TrafficSample> TrafficAfter(DateTimeOffset after)
    {
        lock (_requests)
        {
            return [.. _traffic.Where(t => t.At > after)];
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Tick, time);
        long ticks = 0;
        registers.Sample();
        upstreams.Sample();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                ReadRequests();
                if (++ticks % TicksPerSecond == 0)
                {
                    registers.Sample();
                    upstreams.Sample();
                    MeasureTraffic();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host stops.
        }
    }

    private void ReadRequests()
    {
        lock (_requests)
        {
            if (_watchers == 0)
            {
                return;
            }

            _read.Clear();
            _logPosition = requestLog.ReadFrom(_logPosition, _read);
            requestLog.Grant(RequestsPerTick);
            var now = time.GetUtcNow();
            var nowTimestamp = Stopwatch.GetTimestamp();
            foreach (var record in _read)
            {
                _requests.Enqueue(LoggedRequest.Decode(++_sequence, record, now, nowTimestamp));
                if (_requests.Count > KeptRequests)
                {
                    _requests.Dequeue();
                }
            }
        }
    }

    private void MeasureTraffic()
    {
        lock (_requests)
        {
            if (_watchers == 0)
            {
                return;
            }

            var figures = traffic.Collect(Stopwatch.GetElapsedTime(_trafficTimestamp));
            _trafficTimestamp = Stopwatch.GetTimestamp();
            _traffic.Enqueue(new TrafficSample(time.GetUtcNow(), figures["modbus"], figures["mcp"]));
            if (_traffic.Count > KeptTraffic)
            {
                _traffic.Dequeue();
            }
        }
    }

    private void Unwatch()
    {
        lock (_requests)
        {
            if (--_watchers == 0)
            {
                requestLog.Watch(false);
                traffic.Enable(false);
            }
        }
    }

    private sealed class Watcher(DashboardHub hub) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                hub.Unwatch();
            }
        }
    }
}

/// <summary>One second of traffic: requests per second and latency percentiles of each protocol.</summary>
internal sealed record TrafficSample(DateTimeOffset At, TrafficFigures Modbus, TrafficFigures Mcp);
