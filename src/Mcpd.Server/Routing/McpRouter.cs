using Mcpd.Server.Devices;
using Mcpd.Server.Mcp;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Routing;

/// <summary>
/// Routing of MCP requests (docs/routing.md): the lanes (started and drained with the host), the forward nodes, and the
/// live <see cref="RouteTable"/>. When the configuration changes (hot reload), a new state is built and swapped in
/// whole: lanes and nodes whose settings did not change are kept, new or changed ones are made, and the ones left
/// behind finish what they hold (a lane drains its queue) before they go. A change that does not resolve is rejected
/// with a log line and the running state stays.
/// </summary>
internal sealed class McpRouter : IHostedService, IAsyncDisposable
{
    /// <summary>How long a lane replaced by a reload still accepts requests routed by the previous table.</summary>
    private static readonly TimeSpan RetiredLaneGrace = TimeSpan.FromSeconds(5);

    private readonly IOptionsMonitor<RouterOptions> _options;
    private readonly DeviceRegistry _devices;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IDisposable? _onChange;
    private readonly Lock _sync = new();
    private readonly List<Task> _running = [];
    private RoutingState _state;
    private bool _started;
    private int _disposed;

    public McpRouter(IOptionsMonitor<RouterOptions> options, DeviceRegistry devices, TimeProvider time, ILogger<McpRouter> logger)
    {
        _options = options;
        _devices = devices;
        _time = time;
        _logger = logger;
        var settings = options.CurrentValue;
        var problems = new List<string>();
        // Validation at start has checked every reference, so the first state always builds.
        _state = Build(settings, RoutingState.Empty, problems) ?? throw new InvalidOperationException(string.Join("; ", problems));
        LogState(settings);
        _onChange = options.OnChange(Reload);
    }

    /// <summary>The longest read pause of a connection refused OVERLOADED (routing.overloadBackoff, live).</summary>
    public TimeSpan OverloadBackoff => _options.CurrentValue.Routing.OverloadBackoff;

    /// <summary>The table requests are routed by now.</summary>
    public RouteTable Table => Volatile.Read(ref _state).Table;

    /// <summary>The lanes in use, for status and metrics.</summary>
    public IEnumerable<McpLane> Lanes => Volatile.Read(ref _state).Lanes.Values.Select(l => l.Lane);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_sync)
        {
            _started = true;
            foreach (var lane in Lanes)
            {
                _running.Add(lane.RunAsync());
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Lanes take no new work and finish what is queued; at the host's stop deadline the rest is answered SHUTTING_DOWN.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var lanes = Lanes.ToList();
        foreach (var lane in lanes)
        {
            lane.Complete();
        }

        try
        {
            Task[] running;
            lock (_sync)
            {
                running = [.. _running];
            }

            await Task.WhenAll(running).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            foreach (var lane in lanes)
            {
                lane.Abandon();
            }
        }
    }

    /// <remarks>Registered as a singleton and as a hosted service (one instance), it is disposed twice; the nodes close once.</remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _onChange?.Dispose();
        foreach (var node in Volatile.Read(ref _state).Nodes.Values)
        {
            await node.Node.DisposeAsync();
        }
    }

    /// <summary>The routing state of <paramref name="settings"/>, reusing what <paramref name="current"/> already has unchanged; null with problems when a reference does not resolve.</summary>
    private RoutingState? Build(RouterOptions settings, RoutingState current, List<string> problems)
    {
        var lanes = new Dictionary<string, LaneTarget>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, lane) in settings.Routing.Lanes)
        {
            lanes[name] = current.Lanes.TryGetValue(name, out var kept) && kept.Lane.Workers == lane.Workers && kept.Lane.Capacity == lane.Capacity
                ? kept
                : new LaneTarget(new McpLane(name, lane, _logger));
        }

        var nodes = new Dictionary<string, ForwardTarget>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, node) in settings.Nodes)
        {
            nodes[name] = current.Nodes.TryGetValue(name, out var kept) && kept.Node.HasSettings(node)
                ? kept
                : new ForwardTarget(new ForwardNode(name, node, _time, _logger));
        }

        var table = RouteTable.Build(settings.Routing, (kind, name) => kind switch
        {
            RouteTargetText.Lane => lanes.GetValueOrDefault(name),
            RouteTargetText.Forward => nodes.GetValueOrDefault(name),
            _ => _devices.Resolve(name) is { } device ? new DeviceTarget(device) : null,
        }, problems);
        return table is null ? null : new RoutingState(lanes, nodes, table);
    }

    private void Reload(RouterOptions options)
    {
        var problems = new List<string>();
        RoutingState previous;
        lock (_sync)
        {
            previous = _state;
            if (Build(options, previous, problems) is not { } next)
            {
                RoutingLog.ReloadRejected(_logger, string.Join("; ", problems));
                return;
            }

            foreach (var lane in next.Lanes.Values.Where(l => !previous.Lanes.ContainsValue(l) && _started))
            {
                _running.Add(lane.Lane.RunAsync());
            }

            Volatile.Write(ref _state, next);
        }

        // What the new state left behind: lanes keep taking work for a grace period (a request routed by the old table
        // just before the swap still lands there), then drain what they hold; nodes close once their calls can have ended.
        foreach (var lane in previous.Lanes.Values.Where(l => !Volatile.Read(ref _state).Lanes.ContainsValue(l)))
        {
            _ = RetireAsync(lane.Lane);
        }

        foreach (var node in previous.Nodes.Values.Where(n => !Volatile.Read(ref _state).Nodes.ContainsValue(n)))
        {
            _ = node.Node.RetireAsync();
        }

        LogState(options);
    }

    private async Task RetireAsync(McpLane lane)
    {
        await Task.Delay(RetiredLaneGrace, _time);
        lane.Complete();
    }

    private void LogState(RouterOptions options)
    {
        var state = Volatile.Read(ref _state);
        var lanes = state.Lanes.Count == 0 ? "none" : string.Join(", ", state.Lanes.Keys);
        var nodes = state.Nodes.Count == 0 ? "none" : string.Join(", ", state.Nodes.Keys);
        RoutingLog.TableLoaded(_logger, options.Routing.Rules.Count, options.Routing.Default ?? "none", lanes, nodes);
    }

    /// <summary>Lanes, nodes and the table built from one configuration.</summary>
    private sealed record RoutingState(Dictionary<string, LaneTarget> Lanes, Dictionary<string, ForwardTarget> Nodes, RouteTable Table)
    {
        public static RoutingState Empty { get; } = new(new(StringComparer.OrdinalIgnoreCase), new(StringComparer.OrdinalIgnoreCase), RouteTable.Empty);
    }
}
