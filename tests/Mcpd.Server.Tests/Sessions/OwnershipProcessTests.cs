using System.Collections.Concurrent;
using System.Diagnostics;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Tests.Telemetry;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Sessions;

/// <summary>
/// One owner connection per session (docs/sessions.md, "One owner") across mcpd node processes of their own sharing a
/// real redis-server, over real sockets: a resume takes the session over with a new epoch, the previous owner is told
/// (<c>session.taken</c>) through whichever node holds it, and nothing stale is ever answered by or delivered to it.
/// </summary>
public sealed class OwnershipProcessTests : IAsyncLifetime
{
    private static readonly string McpdDll = typeof(Mcpd.Cli.ExitCodes).Assembly.Location;

    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-owner-").FullName;
    private readonly List<McpdProcess> _nodes = [];
    private readonly List<McpClient> _clients = [];
    private readonly List<int> _adminPorts = [];
    private readonly List<int> _mcpPorts = [];
    private readonly List<int> _modbusPorts = [];
    private RedisServer _redis = null!;

    public async ValueTask InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await _redis.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task The_same_session_resumed_on_two_nodes_at_once_has_exactly_one_owner_and_the_others_are_told_and_refused()
    {
        var ports = await StartNodesAsync("node-a", "node-b", "node-c");
        var original = await DeviceAsync("original", ports[0]);
        var sessionId = await SessionTests.OpenAsync(original.Client, "pump-1");
        var session = new KeyValuePair<string, string>("session", sessionId);
        Assert.Equal(McpStatus.Ok, (await original.Client.CallAsync("session.set", "1"u8.ToArray(), [session, new("key", "stroke")])).Status);
        var onB = await DeviceAsync("on-b", ports[1]);
        var onC = await DeviceAsync("on-c", ports[2]);

        // Both resume at the same moment; both are answered OK (a resume takes over), but only the later bind owns it.
        var resumed = Stopwatch.StartNew();
        var resumes = await Task.WhenAll(
            onB.Client.CallAsync("session.resume", headers: [session]),
            onC.Client.CallAsync("session.resume", headers: [session]));
        Assert.All(resumes, resumed => Assert.Equal(McpStatus.Ok, resumed.Status));

        // Exactly two of the three connections are told that they lost the session; the third is the owner.
        Device[] all = [original, onB, onC];
        await Eventually.HoldsAsync(() => all.Count(d => d.Told.Contains(sessionId)) == 2, TimeSpan.FromSeconds(10));
        // docs/sessions.md, "Running several nodes": how soon the previous owners learn it (measured, not asserted tighter).
        TestContext.Current.TestOutputHelper?.WriteLine($"both losers told {resumed.ElapsedMilliseconds} ms after the two resumes were sent");
        var owner = Assert.Single(all, d => d.Told.IsEmpty);
        var losers = all.Where(d => d != owner).ToList();
        Assert.Contains(original, losers);

        foreach (var loser in losers)
        {
            var read = await loser.Client.CallAsync("session.get", headers: [session, new("key", "stroke")]);
            var write = await loser.Client.CallAsync("session.set", "999"u8.ToArray(), [session, new("key", "stroke")]);
            Assert.Equal(McpStatus.SessionExpired, read.Status);
            Assert.Contains("taken over", read.BodyText, StringComparison.Ordinal);
            Assert.Equal(McpStatus.SessionExpired, write.Status);
        }

        Assert.Equal("1", (await owner.Client.CallAsync("session.get", headers: [session, new("key", "stroke")])).BodyText);

        // device.call from every node reaches the owner and no one else.
        for (var i = 0; i < 30; i++)
        {
            await using var operatorClient = await McpClient.ConnectAsync("127.0.0.1", ports[i % 3], new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
            var answer = await operatorClient.CallAsync("device.call", headers: [new("target-session", sessionId), new("target-method", "device.whoami")]);
            Assert.Equal(McpStatus.Ok, answer.Status);
            Assert.Equal(owner.Name, answer.BodyText);
        }

        Assert.All(losers, loser => Assert.Equal(0, loser.CallsAnswered));
        var metrics = await Task.WhenAll(_adminPorts.Select(ScrapeAsync));
        Assert.Equal(2, metrics.Sum(m => m.Value("mcpd_sessions_takeovers_total") ?? 0));
        Assert.Equal(20, metrics.Sum(m => m.Value("mcpd_cluster_forwards_total", ("node", owner.Node), ("status", "OK")) ?? 0));
        Assert.All(metrics, m => Assert.True(m.Value("mcpd_cluster_announcements_total", ("result", "ok")) > 0));
        Assert.All(metrics, m => Assert.True(m.Value("mcpd_sessions_redis_duration_seconds_count") > 0));

        // The owner goes away: nothing stale answers in its place.
        var gone = Stopwatch.StartNew();
        await owner.Client.DisposeAsync();
        await using var late = await McpClient.ConnectAsync("127.0.0.1", ports[0], new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
        await Eventually.HoldsAsync(
            async () => (await late.CallAsync("device.call", headers: [new("target-session", sessionId), new("target-method", "device.whoami")])).Status == McpStatus.Unavailable,
            TimeSpan.FromSeconds(10));
        TestContext.Current.TestOutputHelper?.WriteLine($"device.call answered UNAVAILABLE {gone.ElapsedMilliseconds} ms after the owner disconnected");
        Assert.All(losers, loser => Assert.Equal(0, loser.CallsAnswered));
    }

    [Fact]
    public async Task The_same_client_id_opened_on_another_node_takes_the_session_over_and_device_call_by_client_id_reaches_the_new_one()
    {
        var ports = await StartNodesAsync("node-a", "node-b");
        var first = await DeviceAsync("first", ports[0]);
        var firstSession = await SessionTests.OpenAsync(first.Client, "pump-7");
        var second = await DeviceAsync("second", ports[1]);

        var secondSession = await SessionTests.OpenAsync(second.Client, "pump-7");

        Assert.NotEqual(firstSession, secondSession);
        await Eventually.HoldsAsync(() => first.Told.Contains(firstSession), TimeSpan.FromSeconds(10));
        Assert.Empty(second.Told);
        var oldRead = await first.Client.CallAsync("session.get", headers: [new("session", firstSession)]);
        Assert.Equal(McpStatus.SessionExpired, oldRead.Status);
        await using var operatorClient = await McpClient.ConnectAsync("127.0.0.1", ports[0], new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
        for (var i = 0; i < 10; i++)
        {
            var answer = await operatorClient.CallAsync("device.call", headers: [new("target-client", "pump-7"), new("target-method", "device.whoami")]);
            Assert.Equal("second", answer.BodyText);
        }

        var oldTarget = await operatorClient.CallAsync("device.call", headers: [new("target-session", firstSession), new("target-method", "device.whoami")]);
        var unknown = await operatorClient.CallAsync("device.call", headers: [new("target-client", "pump-8"), new("target-method", "device.whoami")]);
        Assert.Equal(McpStatus.SessionExpired, oldTarget.Status);
        Assert.Equal(McpStatus.SessionExpired, unknown.Status);
        Assert.Equal(0, first.CallsAnswered);
    }

    [Fact]
    public async Task With_onClientIdInUse_refuse_the_same_client_id_opened_on_another_node_is_refused_while_its_session_lives()
    {
        var ports = await StartNodesAsync(["node-a", "node-b"], onClientIdInUse: "refuse");
        var first = await DeviceAsync("first", ports[0]);
        var firstSession = await SessionTests.OpenAsync(first.Client, "pump-7");
        var second = await DeviceAsync("second", ports[1]);

        var refused = await second.Client.CallAsync("session.open", """{"clientId":"pump-7"}"""u8.ToArray());
        var answer = await second.Client.CallAsync("device.call", headers: [new("target-client", "pump-7"), new("target-method", "device.whoami")]);
        Assert.Equal(McpStatus.Ok, (await first.Client.CallAsync("session.close", headers: [new("session", firstSession)])).Status);
        var afterClose = await second.Client.CallAsync("session.open", """{"clientId":"pump-7"}"""u8.ToArray());

        Assert.Equal(McpStatus.Forbidden, refused.Status);
        Assert.Contains("already has a live session", refused.BodyText, StringComparison.Ordinal);
        Assert.Equal("first", answer.BodyText);
        Assert.Empty(first.Told);
        Assert.Equal(McpStatus.Ok, afterClose.Status);
    }

    [Fact]
    public async Task While_Redis_is_down_every_node_stays_ready_for_Modbus_and_MCP_without_sessions_and_only_readyz_sessions_is_503()
    {
        var ports = await StartNodesAsync("node-a", "node-b");
        await _redis.StopAsync();

        using var http = new HttpClient();
        foreach (var (adminPort, modbusPort, mcpPort) in _adminPorts.Zip(_modbusPorts, ports))
        {
            using var ready = await http.GetAsync(new Uri($"http://127.0.0.1:{adminPort}/readyz"), TestContext.Current.CancellationToken);
            using var sessionsReady = await http.GetAsync(new Uri($"http://127.0.0.1:{adminPort}/readyz/sessions"), TestContext.Current.CancellationToken);
            await using var modbus = await Mcpd.Client.Modbus.ModbusTcpClient.ConnectAsync("127.0.0.1", modbusPort);
            await using var mcp = await McpClient.ConnectAsync("127.0.0.1", mcpPort, new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });

            Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
            Assert.Contains("Degraded", await ready.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, sessionsReady.StatusCode);
            Assert.Single(await modbus.ReadHoldingRegistersAsync(1, 0, 1));
            Assert.Equal("still serving", (await mcp.CallAsync("sys.echo", "still serving"u8.ToArray())).BodyText);
            Assert.Equal(McpStatus.Unavailable, (await mcp.CallAsync("session.open", """{"clientId":"during"}"""u8.ToArray())).Status);
        }
    }

    /// <summary>Starts one mcpd process per node id on the shared Redis; their MCP ports.</summary>
    private Task<int[]> StartNodesAsync(params string[] nodeIds) => StartNodesAsync(nodeIds, onClientIdInUse: "takeover");

    private async Task<int[]> StartNodesAsync(string[] nodeIds, string onClientIdInUse)
    {
        var ports = new int[nodeIds.Length];
        for (var i = 0; i < nodeIds.Length; i++)
        {
            var configFile = Path.Combine(_directory, $"{nodeIds[i]}.yaml");
            await File.WriteAllTextAsync(configFile, NodeConfig(nodeIds[i], onClientIdInUse), TestContext.Current.CancellationToken);
            var (node, modbusPort) = await McpdProcess.StartAsync(McpdDll, configFile);
            _modbusPorts.Add(modbusPort);
            _nodes.Add(node);
            ports[i] = McpdProcess.ListenerPort(await node.WaitForOutputAsync("mcp listening on"));
            _mcpPorts.Add(ports[i]);
            _adminPorts.Add(McpdProcess.ListenerPort(await node.WaitForOutputAsync("admin listening on")));
        }

        return ports;
    }

    private static async Task<PrometheusText> ScrapeAsync(int adminPort)
    {
        using var http = new HttpClient();
        return PrometheusText.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{adminPort}/metrics"), TestContext.Current.CancellationToken));
    }

    private string NodeConfig(string nodeId, string onClientIdInUse) => $$"""
        modbus:
          port: 0
          bind: 127.0.0.1
        mcp:
          port: 0
          bind: 127.0.0.1
        admin:
          port: 0
        sessions:
          store: redis
          onClientIdInUse: {{onClientIdInUse}}
          redis:
            connectionString: "{{_redis.ConnectionString}}"
            keyPrefix: "owner-test:"
        cluster:
          nodeId: {{nodeId}}
          heartbeatInterval: "00:00:01"
        """;

    /// <summary>A client that answers <c>device.whoami</c> with its name and records the sessions it was told it lost.</summary>
    private async Task<Device> DeviceAsync(string name, int port)
    {
        var device = new Device(name) { Node = $"node-{(char)('a' + Array.IndexOf(_mcpPorts.ToArray(), port))}" };
        var options = new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) }
            .MapMethod("device.whoami", (_, _) =>
            {
                Interlocked.Increment(ref device.Answered);
                return ValueTask.FromResult(McpReply.Ok(name));
            })
            .MapMethod("session.taken", (request, _) =>
            {
                device.Told.Enqueue(request.Header("session") ?? "");
                return ValueTask.FromResult(McpReply.Ok());
            });
        device.Client = await McpClient.ConnectAsync("127.0.0.1", port, options);
        _clients.Add(device.Client);
        return device;
    }

    private sealed class Device(string name)
    {
        public int Answered;

        public string Name { get; } = name;

        /// <summary>The node id of the node the device is connected to.</summary>
        public string Node { get; init; } = "";

        public McpClient Client { get; set; } = null!;

        public ConcurrentQueue<string> Told { get; } = new();

        public int CallsAnswered => Volatile.Read(ref Answered);
    }
}
