using System.Diagnostics.Metrics;
using Mcpd.Server.Connections;
using Mcpd.Server.Gateway;
using Mcpd.Server.Routing;
using Mcpd.Server.Sessions;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Hosting;

namespace Mcpd.Server.Hosting;

/// <summary>
/// The observed instruments of the <c>Mcpd</c> meter: read from the registries when an exporter collects (a scrape
/// of <c>/metrics</c>), never on a request's path. Connection pools of the upstreams add their callbacks here, over
/// <see cref="UpstreamRegistry.All"/>, as <see cref="ObserveUpstreams"/> does for their state.
/// </summary>
internal sealed class McpdObservedMetrics : IHostedService
{
    private static readonly string[] Listeners = [ListenerNames.Modbus, ListenerNames.Mcp, ListenerNames.McpCrc];
    private static readonly UpstreamState[] States = Enum.GetValues<UpstreamState>();

    public McpdObservedMetrics(McpdMetrics metrics, ConnectionRegistry connections, ISessionStore sessions, McpRouter router, UpstreamRegistry upstreams)
    {
        var meter = metrics.Meter;
        meter.CreateObservableUpDownCounter("mcpd.connections.active", () => ObserveConnections(connections), "{connection}",
            "Open connections per protocol listener.");
        if (sessions is InMemorySessionStore memory)
        {
            // Other stores are shared between nodes; counting them is the store's own business.
            meter.CreateObservableUpDownCounter("mcpd.sessions.active", () => memory.Count, "{session}", "Sessions held by this node's in-memory store.");
            meter.CreateObservableUpDownCounter("mcpd.sessions.size", () => memory.Bytes, "By",
                "Estimated bytes the sessions of this node's in-memory store hold, bounded by sessions.maxStoreBytes.");
        }

        meter.CreateObservableUpDownCounter("mcpd.lane.depth", () => router.Lanes.Select(l => Lane(l.Depth, l)), "{request}", "Requests waiting in each lane.");
        meter.CreateObservableCounter("mcpd.lane.rejected", () => router.Lanes.Select(l => Lane(l.Rejected, l)), "{request}",
            "Requests refused OVERLOADED because their lane was full.");
        meter.CreateObservableCounter("mcpd.lane.completed", () => router.Lanes.Select(l => Lane(l.Completed, l)), "{request}", "Requests the lane's workers have run.");
        meter.CreateObservableGauge("mcpd.upstream.state", () => ObserveUpstreams(upstreams), "{state}",
            "1 for the state each upstream is in, 0 for the others (up, degraded, circuit_open, down).");
    }

    /// <summary>Nothing to start: being built at start is what registers the callbacks.</summary>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static IEnumerable<Measurement<int>> ObserveConnections(ConnectionRegistry connections) =>
        Listeners.Select(listener => new Measurement<int>(connections.Count(listener), new KeyValuePair<string, object?>("listener", listener)));

    private static Measurement<long> Lane(long value, McpLane lane) => new(value, new KeyValuePair<string, object?>("lane", lane.Name));

    private static IEnumerable<Measurement<int>> ObserveUpstreams(UpstreamRegistry upstreams)
    {
        foreach (var upstream in upstreams.All)
        {
            var current = upstream.State;
            foreach (var state in States)
            {
                yield return new Measurement<int>(state == current ? 1 : 0,
                    new KeyValuePair<string, object?>("upstream", upstream.Name), new KeyValuePair<string, object?>("state", StateName(state)));
            }
        }
    }

    private static string StateName(UpstreamState state) => state switch
    {
        UpstreamState.Up => "up",
        UpstreamState.Degraded => "degraded",
        UpstreamState.CircuitOpen => "circuit_open",
        _ => "down",
    };
}
