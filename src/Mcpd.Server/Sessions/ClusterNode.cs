using System.Collections.Concurrent;
using System.Security.Cryptography;
using Mcpd.Server.Connections;
using Mcpd.Server.Mcp;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Sessions;

/// <summary>
/// This node in a cluster sharing one session store: its id, the incarnation of this process (a random boot id: the
/// bindings of an earlier run of the same node id are dead), the address other nodes reach it at, an announcement
/// refreshed every heartbeat interval with a TTL of 3 intervals (a node that dies simply stops being announced), and
/// pooled MCP clients to the other nodes, one pool per incarnation, made on first use.
/// </summary>
/// <remarks>
/// Invariant: at most one live incarnation announces a node id. The store writes an announcement only when no other
/// incarnation's is live; a node that finds one waits for it to expire (the node it belonged to was killed) for one TTL
/// and a heartbeat, and stops the host when it is renewed meanwhile (<see cref="NodeIdTaken"/>).
/// </remarks>
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
    private readonly ConcurrentDictionary<string, Peer> _peers = new(StringComparer.Ordinal);

    /// <summary>Completed to announce at once, without waiting for the next heartbeat: the store is reachable again.</summary>
    private TaskCompletionSource _announceNow = new(TaskCreationOptions.RunContinuationsAsynchronously);

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
        // Not the process id: in a container every node is PID 1, and a restarted node would take its old id.
        NodeId = _options.NodeId ?? $"{Environment.MachineName}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
    }

    public string NodeId { get; }

    /// <summary>This process's boot id: 64 random bits in hex, new at every start.</summary>
    public string Incarnation { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>True once the node stopped the host because another live incarnation holds its node id.</summary>
    public bool NodeIdTaken { get; private set; }

    /// <summary>The binding of connection <paramref name="connectionId"/> of this process.</summary>
    public SessionBinding BindingOf(string connectionId) => new(NodeId, Incarnation, connectionId);

    /// <summary>True when <paramref name="binding"/> names a connection of this process (not of an earlier run of this node id).</summary>
    public bool IsHere(SessionBinding binding) => binding.NodeId == NodeId && binding.Incarnation == Incarnation;

    /// <summary>
    /// A pooled client to node <paramref name="nodeId"/> as announced: one pool per node, replaced (and the old one
    /// retired) when the node comes back as another incarnation or at another address, so a restarted node is
    /// reached at once, without waiting out the old pool's reconnect back-off.
    /// </summary>
    public ForwardNode PeerAt(string nodeId, NodeAnnouncement announcement)
    {
        while (true)
        {
            var known = _peers.GetValueOrDefault(nodeId);
            if (known?.Announcement == announcement)
            {
                return known.Pool;
            }

            // A pool connects on first use, so one that loses this race costs nothing.
            var settings = new NodeOptions { Address = announcement.Address, Connections = _options.PeerConnections, RequestTimeout = _peerCallTimeout };
            var fresh = new Peer(announcement, new ForwardNode(nodeId, settings, _time, _logger));
            if (known is null ? _peers.TryAdd(nodeId, fresh) : _peers.TryUpdate(nodeId, fresh, known))
            {
                if (known is not null)
                {
                    _ = known.Pool.RetireAsync();
                }

                return fresh.Pool;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (var peer in _peers.Values)
        {
            await peer.Pool.DisposeAsync();
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

        var announcement = new NodeAnnouncement(_options.Advertise ?? $"127.0.0.1:{_endpoints[ListenerNames.Mcp].Port}", Incarnation);
        var ttl = 3 * _options.HeartbeatInterval;
        // A Redis restarted without persistence forgot every announcement: each node says it is there again at once.
        _store.Restored += AnnounceNow;
        try
        {
            await AnnounceAsync(announcement, ttl, stoppingToken);
        }
        finally
        {
            _store.Restored -= AnnounceNow;
        }
    }

    private void AnnounceNow(object? sender, EventArgs e) => Volatile.Read(ref _announceNow).TrySetResult();

    /// <summary>Announces this incarnation every heartbeat interval, and at once when the store comes back.</summary>
    private async Task AnnounceAsync(NodeAnnouncement announcement, TimeSpan ttl, CancellationToken stoppingToken)
    {
        var announced = false;
        var failing = false;
        long? refusedSince = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var announceNow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _announceNow, announceNow);
            try
            {
                var holder = await _store.PublishNodeAsync(NodeId, announcement, ttl, stoppingToken);
                _metrics.Announced(ok: true);
                failing = false;
                if (holder is null)
                {
                    refusedSince = null;
                    if (!announced && _store.Kind != SessionStoreKinds.Memory)
                    {
                        // With sessions in this process alone there is no cluster to speak of; the announcement stays internal.
                        SessionLog.NodeStarted(_logger, NodeId, announcement.Address, _options.HeartbeatInterval, _store.Kind);
                    }

                    announced = true;
                }
                else if (refusedSince is not { } since)
                {
                    refusedSince = _time.GetTimestamp();
                    SessionLog.WaitingForNodeId(_logger, NodeId, holder.Value.Incarnation, holder.Value.Address, ttl);
                }
                else if (_time.GetElapsedTime(since) > ttl + _options.HeartbeatInterval)
                {
                    // A dead incarnation's announcement has expired by now: this one was renewed, by a live process.
                    SessionLog.NodeIdTaken(_logger, NodeId, holder.Value.Incarnation, holder.Value.Address);
                    NodeIdTaken = true;
                    _lifetime.StopApplication();
                    return;
                }
            }
            catch (SessionStoreUnavailableException ex)
            {
                _metrics.Announced(ok: false);
                // Once per outage: the store logs its own state, and the node tries again every heartbeat.
                if (!failing)
                {
                    SessionLog.AnnounceFailed(_logger, NodeId, ex.Message);
                }

                failing = true;
            }

            await Task.WhenAny(Task.Delay(_options.HeartbeatInterval, _time, stoppingToken), announceNow.Task);
        }
    }

    /// <summary>The pool to a node's incarnation, and the announcement it was made for.</summary>
    private sealed record Peer(NodeAnnouncement Announcement, ForwardNode Pool);
}
