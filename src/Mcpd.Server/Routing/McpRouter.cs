using Mcpd.Server.Configuration;
using Mcpd.Server.Devices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Routing;

/// <summary>
/// Routing of MCP requests (seed 4.1): owns the lanes (started and drained with the host) and the forward nodes, and
/// the live <see cref="RouteTable"/>. When the configuration changes, a new table is built and swapped in whole; a
/// change that does not resolve is rejected with a log line and the running table stays. Lanes and nodes are made
/// once, at start.
/// </summary>
internal sealed class McpRouter : IHostedService, IAsyncDisposable
{
    private readonly Dictionary<string, LaneTarget> _lanes = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, ForwardTarget> _nodes = new(StringComparer.OrdinalIgnoreCase);
    private readonly DeviceRegistry _devices;
    private readonly ILogger _logger;
    private readonly IDisposable? _onChange;
    private readonly List<Task> _running = [];
    private RouteTable _table;

    public McpRouter(IOptionsMonitor<McpdOptions> options, DeviceRegistry devices, TimeProvider time, ILogger<McpRouter> logger)
    {
        _devices = devices;
        _logger = logger;
        var settings = options.CurrentValue;
        foreach (var (name, lane) in settings.Routing.Lanes)
        {
            _lanes[name] = new LaneTarget(new McpLane(name, lane, logger));
        }

        foreach (var (name, node) in settings.Nodes)
        {
            _nodes[name] = new ForwardTarget(new ForwardNode(name, node, time, logger));
        }

        var problems = new List<string>();
        // Validation at start has checked every reference, so the first table always builds.
        _table = RouteTable.Build(settings.Routing, Resolve, problems) ?? throw new InvalidOperationException(string.Join("; ", problems));
        LogTable(settings);
        _onChange = options.OnChange(Reload);
    }

    /// <summary>The table requests are routed by now.</summary>
    public RouteTable Table => Volatile.Read(ref _table);

    /// <summary>The lanes, for status and metrics.</summary>
    public IEnumerable<McpLane> Lanes => _lanes.Values.Select(l => l.Lane);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _running.AddRange(_lanes.Values.Select(l => l.Lane.RunAsync()));
        return Task.CompletedTask;
    }

    /// <summary>Lanes take no new work and finish what is queued; at the host's stop deadline the rest is answered SHUTTING_DOWN.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var lane in Lanes)
        {
            lane.Complete();
        }

        try
        {
            await Task.WhenAll(_running).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            foreach (var lane in Lanes)
            {
                lane.Abandon();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _onChange?.Dispose();
        foreach (var node in _nodes.Values)
        {
            await node.Node.DisposeAsync();
        }
    }

    private RouteTarget? Resolve(string kind, string name) => kind switch
    {
        RouteTargetText.Lane => _lanes.GetValueOrDefault(name),
        RouteTargetText.Forward => _nodes.GetValueOrDefault(name),
        _ => _devices.Resolve(name) is { } device ? new DeviceTarget(device) : null,
    };

    private void Reload(McpdOptions options)
    {
        var problems = new List<string>();
        if (RouteTable.Build(options.Routing, Resolve, problems) is not { } table)
        {
            RoutingLog.ReloadRejected(_logger, string.Join("; ", problems));
            return;
        }

        Volatile.Write(ref _table, table);
        if (!options.Routing.Lanes.Keys.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(_lanes.Keys)
            || !options.Nodes.Keys.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(_nodes.Keys))
        {
            RoutingLog.RestartNeeded(_logger);
        }

        LogTable(options);
    }

    private void LogTable(McpdOptions options)
    {
        var lanes = string.Join(", ", _lanes.Keys);
        var nodes = string.Join(", ", _nodes.Keys);
        RoutingLog.TableLoaded(_logger, options.Routing.Rules.Count, options.Routing.Default ?? "none", lanes, nodes);
    }
}
