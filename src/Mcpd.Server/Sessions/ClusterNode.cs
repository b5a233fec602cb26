using System.Collections.Concurrent;
using Mcpd.Server.Connections;
using Mcpd.Server.Mcp;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Sessions;

/// <summary>
/// This node in a cluster sharing one session store: its id, the address other nodes reach it at, an announcement
/// refreshed every heartbeat interval with a TTL of 3 intervals (a node that dies simply stops being announced), and
/// pooled MCP clients to the other nodes, made on first use.
/// </summary>
internal sealed class ClusterNode : BackgroundService
{
    private readonly ISessionStore _store;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ListenerEndpoints _endpoints;
    private readonly ClusterOptions _options;
    private readonly TimeSpan _peerCallTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger<ClusterNode> _logger;
    private readonly McpdMetrics _metrics;
    private readonly ConcurrentDictionary<string, ForwardNode> _peers = new(StringComparer.Ordinal);

    public ClusterNode(ISessionStore store, ListenerEndpoints endpoints, IHostApplicationLifetime lifetime, IOptions<ClusterOptions> options, IOptions<McpServerOptions> mcp, McpdMetrics metrics, TimeProvider time, ILogger<ClusterNode> logger)
    {
        _metrics = metrics;
        _lifetime = lifetime;
        _store = store;
        _endpoints = endpoints;
        _options = options.Value;
        _peerCallTimeout = mcp.Value.CallTimeout;
        _time = time;
        _logger = logger;
        NodeId = _options.NodeId ?? $"{Environment.MachineName}-{Environment.ProcessId}";
    }

    public string NodeId { get; }

    /// <summary>
    /// A pooled client to node <paramref name="nodeId"/> at <paramref name="address"/>: one pool per node, replaced
    /// (and the old one retired) when the node comes back at another address.
    /// </summary>
    public ForwardNode PeerAt(string nodeId, string address)
    {
        while (true)
        {
            var known = _peers.GetValueOrDefault(nodeId);
            if (known?.Address == address)
            {
                return known;
            }

            // A pool connects on first use, so one that loses this race costs nothing.
            var fresh = new ForwardNode(nodeId, new NodeOptions { Address = address, RequestTimeout = _peerCallTimeout }, _time, _logger);
            if (known is null ? _peers.TryAdd(nodeId, fresh) : _peers.TryUpdate(nodeId, fresh, known))
            {
                if (known is not null)
                {
                    _ = known.RetireAsync();
                }

                return fresh;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (var peer in _peers.Values)
        {
            await peer.DisposeAsync();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The real MCP port (port 0 in config picks one) is known once the host has started and Kestrel has bound.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (_lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            try
            {
                await started.Task.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // The host stopped before it started (a listener could not bind): nothing to announce, and no failure.
                return;
            }
        }

        var address = _options.Advertise ?? $"127.0.0.1:{_endpoints[ListenerNames.Mcp].Port}";
        if (_store.Kind != SessionStoreKinds.Memory)
        {
            // With sessions in this process alone there is no cluster to speak of; the announcement stays internal.
            SessionLog.NodeStarted(_logger, NodeId, address, _options.HeartbeatInterval, _store.Kind);
        }
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, _time);
        do
        {
            try
            {
                await _store.PublishNodeAsync(NodeId, address, 3 * _options.HeartbeatInterval, stoppingToken);
                _metrics.Announced(ok: true);
            }
            catch (SessionStoreUnavailableException ex)
            {
                _metrics.Announced(ok: false);
                SessionLog.AnnounceFailed(_logger, NodeId, ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
