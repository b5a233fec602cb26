using System.Diagnostics;
using Mcpd.Client;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Tests.Gateway;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Sessions;

/// <summary>
/// Cluster faults with real processes (issue 17): mcpd nodes as processes of their own on a real redis-server,
/// killed (SIGKILL) and restarted by PID, and real MCP clients as devices and callers.
/// </summary>
public sealed class ClusterProcessTests : IAsyncLifetime
{
    private static readonly string McpdDll = typeof(Mcpd.Cli.ExitCodes).Assembly.Location;

    /// <summary>A device that must not come back by itself: the test decides where it connects.</summary>
    private static readonly ReconnectPolicy NoReconnect = ReconnectPolicy.Default with { MaxAttempts = 0 };

    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-cluster-").FullName;
    private readonly string _keyPrefix = $"mcpd-test-{Guid.NewGuid():N}:";
    private readonly List<McpdProcess> _nodes = [];
    private RedisServer _redis = null!;

    public async ValueTask InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await _redis.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task After_a_node_is_killed_and_restarted_with_its_node_id_a_device_call_for_a_session_it_held_never_reaches_a_new_connection()
    {
        var (a, aPort) = await StartNodeAsync("a", "node-a");
        var (_, bPort) = await StartNodeAsync("b", "node-b");
        await using var victim = await DeviceAsync(aPort, "OK victim");
        var victimSession = await SessionTests.OpenAsync(victim.Client, "victim");
        await using var callerOnB = await McpClient.ConnectAsync("127.0.0.1", bPort);
        Assert.Equal("OK victim", (await DeviceCallAsync(callerOnB, victimSession)).BodyText);

        await KillAsync(a);
        var (_, restartedPort) = await StartNodeAsync("a", "node-a");
        // The first connection of the new process: the connection id the victim had in the old one.
        await using var intruder = await DeviceAsync(restartedPort, "OK intruder1@A OPENED THE VALVE");
        await using var callerOnA = await McpClient.ConnectAsync("127.0.0.1", restartedPort);
        var fromB = await DeviceCallAsync(callerOnB, victimSession);
        var fromA = await DeviceCallAsync(callerOnA, victimSession);

        Assert.Equal(0, intruder.Calls);
        Assert.Equal((McpStatus.Unavailable, McpStatus.Unavailable), (fromB.Status, fromA.Status));
        Assert.Contains("restarted", fromB.BodyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_with_the_default_id_restarted_on_its_port_answers_a_device_call_for_its_old_session_at_once_without_a_forwarding_loop()
    {
        // The old default heartbeat: the dead node's announcement outlives it, and the new process listens at its address.
        var port = TcpGatewayTests.FreePort();
        var (a, _) = await StartNodeAsync("a", nodeId: null, mcpPort: port, heartbeat: "00:00:10");
        var (_, bPort) = await StartNodeAsync("b", "node-b", heartbeat: "00:00:10");
        await using var victim = await DeviceAsync(port, "OK victim");
        var victimSession = await SessionTests.OpenAsync(victim.Client, "victim");
        await using var callerOnB = await McpClient.ConnectAsync("127.0.0.1", bPort, new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(60) });

        await KillAsync(a);
        await StartNodeAsync("a", nodeId: null, mcpPort: port, heartbeat: "00:00:10");
        await using var intruder = await DeviceAsync(port, "OK intruder");
        var clock = Stopwatch.StartNew();
        var answer = await DeviceCallAsync(callerOnB, victimSession);
        clock.Stop();

        // Before node incarnations, every call went round A's own address until the hop limit, for the announcement's TTL.
        Assert.Equal(McpStatus.Unavailable, answer.Status);
        Assert.DoesNotContain("loop", answer.BodyText, StringComparison.Ordinal);
        Assert.Contains("restarted", answer.BodyText, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"answered after {clock.Elapsed}: {answer.BodyText}");
        Assert.Equal(0, intruder.Calls);
    }

    [Fact]
    public async Task A_second_live_node_with_the_same_node_id_stops_with_exit_code_4_and_a_node_restarted_after_SIGKILL_waits_then_starts()
    {
        // A's announcement lives 9 s: a process started after A is killed surely finds it. The twin waits 3 s and 1.
        var (a, _) = await StartNodeAsync("a", "node-a", heartbeat: "00:00:03");

        var (twin, _) = await StartNodeAsync("twin", "node-a", announced: false);
        using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await twin.Process.WaitForExitAsync(exited.Token);

        Assert.Equal(4, twin.Process.ExitCode);
        Assert.Contains(twin.Output, line => line.Contains("node id node-a is held by another live mcpd", StringComparison.Ordinal));
        Assert.False(a.Process.HasExited);

        await KillAsync(a);
        var (restarted, _) = await StartNodeAsync("a", "node-a", heartbeat: "00:00:03");

        Assert.Contains(restarted.Output, line => line.Contains("waiting up to", StringComparison.Ordinal));
        Assert.False(restarted.Process.HasExited);
    }

    [Fact]
    public async Task Calls_to_a_killed_node_fail_at_once_and_reach_it_again_as_soon_as_it_announces_itself_after_a_restart()
    {
        var bPort = TcpGatewayTests.FreePort();
        var (_, aPort) = await StartNodeAsync("a", "node-a");
        var (b, _) = await StartNodeAsync("b", "node-b", mcpPort: bPort);
        await using var device = await DeviceAsync(bPort, "OK device");
        var deviceSession = await SessionTests.OpenAsync(device.Client, "pump-1");
        await using var caller = await McpClient.ConnectAsync("127.0.0.1", aPort, new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) });
        Assert.Equal(McpStatus.Ok, (await DeviceCallAsync(caller, deviceSession)).Status);

        await KillAsync(b);
        var failures = new List<(McpStatus Status, TimeSpan Took)>();
        for (var i = 0; i < 10; i++)
        {
            var clock = Stopwatch.StartNew();
            var answer = await DeviceCallAsync(caller, deviceSession);
            failures.Add((answer.Status, clock.Elapsed));
            await Task.Delay(100);
        }

        var (restarted, _) = await StartNodeAsync("b", "node-b", mcpPort: bPort);
        var announced = Stopwatch.StartNew();
        await using var back = await DeviceAsync(bPort, "OK device again");
        Assert.Equal(McpStatus.Ok, (await back.Client.CallAsync("session.resume", headers: [new("session", deviceSession)])).Status);
        McpResponse? again = null;
        while (again?.Status != McpStatus.Ok && announced.Elapsed < TimeSpan.FromSeconds(15))
        {
            again = await DeviceCallAsync(caller, deviceSession);
        }

        var reachedAfter = announced.Elapsed;
        TestContext.Current.TestOutputHelper?.WriteLine($"killed node: calls answered in {string.Join(", ", failures.Select(f => $"{f.Status} {f.Took.TotalMilliseconds:F0} ms"))}; reached again {reachedAfter.TotalMilliseconds:F0} ms after its announcement");
        Assert.All(failures, f => Assert.Equal(McpStatus.Unavailable, f.Status));
        Assert.All(failures, f => Assert.True(f.Took < TimeSpan.FromMilliseconds(500), $"a call to the killed node took {f.Took}"));
        Assert.Equal("OK device again", again?.BodyText);
        Assert.True(reachedAfter < TimeSpan.FromSeconds(1.5), $"reached the restarted node {reachedAfter} after it announced itself");
        Assert.False(restarted.Process.HasExited);
    }

    [Fact]
    public async Task After_a_Redis_restart_that_lost_every_key_the_nodes_announce_themselves_again_within_about_a_second()
    {
        // A heartbeat far longer than the outage: only the announcement on the store's return brings the node back in time.
        await StartNodeAsync("a", "node-a", heartbeat: "00:00:20");
        var key = $"{_keyPrefix}node:node-a";
        Assert.NotEmpty((await _redis.CliAsync("GET", key)).Trim());

        await _redis.StopAsync();
        await _redis.StartAgainAsync();
        var restarted = Stopwatch.StartNew();
        while ((await _redis.CliAsync("GET", key)).Trim().Length == 0 && restarted.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(20);
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"node re-announced {restarted.Elapsed.TotalMilliseconds:F0} ms after Redis answered again");
        Assert.True(restarted.Elapsed < TimeSpan.FromSeconds(1.5), $"re-announced {restarted.Elapsed} after Redis came back");
    }

    [Fact]
    public async Task A_node_stopped_past_its_callers_deadlines_executes_none_of_their_calls_when_it_resumes()
    {
        var (_, aPort) = await StartNodeAsync("a", "node-a");
        var (b, bPort) = await StartNodeAsync("b", "node-b");
        await using var device = await DeviceAsync(bPort, "OK valve");
        var deviceSession = await SessionTests.OpenAsync(device.Client, "valve-1");
        await using var caller = await McpClient.ConnectAsync("127.0.0.1", aPort, new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) });
        Assert.Equal(McpStatus.Ok, (await DeviceCallAsync(caller, deviceSession)).Status);

        await SignalAsync(b, "STOP");
        var stopped = Stopwatch.StartNew();
        var calls = new List<Task<McpResponse>>();
        // Every call is made while B is stopped, and every deadline (5 s) passes before B resumes at 9 s.
        while (stopped.Elapsed < TimeSpan.FromSeconds(3.5))
        {
            calls.Add(DeviceCallAsync(caller, deviceSession));
            await Task.Delay(250);
        }

        var answers = await Task.WhenAll(calls);
        var answeredBy = stopped.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(9) - stopped.Elapsed);
        await SignalAsync(b, "CONT");
        // B reads what waited in its socket, and drops it; a call it passed on would reach the device at once.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var after = await DeviceCallAsync(caller, deviceSession);

        TestContext.Current.TestOutputHelper?.WriteLine($"stopped node: {answers.Length} calls answered {string.Join(", ", answers.GroupBy(x => x.Status).Select(g => $"{g.Count()} {g.Key}"))} by {answeredBy.TotalSeconds:F1} s; device calls: {device.Calls}");
        Assert.All(answers, answer => Assert.Contains(answer.Status, new[] { McpStatus.Timeout, McpStatus.Unavailable }));
        Assert.Contains(answers, answer => answer.Status == McpStatus.Timeout);
        Assert.Equal(McpStatus.Ok, after.Status);
        Assert.Equal(2, device.Calls); // the call before B stopped and the one after it resumed: none of the timed-out ones
    }

    [Fact]
    public async Task A_hundred_calls_to_a_device_that_does_not_answer_do_not_hold_up_calls_to_a_fast_device_on_the_same_node()
    {
        var (_, aPort) = await StartNodeAsync("a", "node-a");
        var (_, cPort) = await StartNodeAsync("c", "node-c");
        var silentOptions = new McpClientOptions { Reconnect = NoReconnect }.MapMethod("valve.open", async (_, cancellationToken) =>
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return McpReply.Ok();
        });
        await using var silent = await McpClient.ConnectAsync("127.0.0.1", aPort, silentOptions);
        var silentSession = await SessionTests.OpenAsync(silent, "silent-1");
        await using var fast = await DeviceAsync(aPort, "OK fast");
        var fastSession = await SessionTests.OpenAsync(fast.Client, "fast-1");
        await using var flooder = await McpClient.ConnectAsync("127.0.0.1", cPort, new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) });
        await using var caller = await McpClient.ConnectAsync("127.0.0.1", cPort, new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(30) });
        Assert.Equal(McpStatus.Ok, (await DeviceCallAsync(caller, fastSession)).Status);

        var flood = Enumerable.Range(0, 100).Select(_ => DeviceCallAsync(flooder, silentSession)).ToList();
        await Task.Delay(200);
        var times = new List<TimeSpan>();
        for (var i = 0; i < 20; i++)
        {
            var clock = Stopwatch.StartNew();
            Assert.Equal("OK fast", (await DeviceCallAsync(caller, fastSession)).BodyText);
            times.Add(clock.Elapsed);
        }

        var flooded = await Task.WhenAll(flood);
        TestContext.Current.TestOutputHelper?.WriteLine($"fast device under a flood: slowest of 20 calls {times.Max().TotalMilliseconds:F0} ms, median {times.Order().ElementAt(10).TotalMilliseconds:F0} ms; flood answered {string.Join(", ", flooded.GroupBy(x => x.Status).Select(g => $"{g.Count()} {g.Key}"))}");
        Assert.True(times.Max() < TimeSpan.FromMilliseconds(500), $"a call to the fast device took {times.Max()}");
        Assert.Equal(100 - 16, flooded.Count(answer => answer.Status == McpStatus.Overloaded));
    }

    private static async Task SignalAsync(McpdProcess node, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", node.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    private static Task<McpResponse> DeviceCallAsync(McpClient caller, string targetSession) =>
        caller.CallAsync("device.call", headers: [new("target-session", targetSession), new("target-method", "valve.open")]);

    /// <summary>A real MCP client as a device: it answers <c>valve.open</c> with <paramref name="answer"/> and counts the calls.</summary>
    private static async Task<Device> DeviceAsync(int port, string answer)
    {
        var device = new Device();
        var options = new McpClientOptions { Reconnect = NoReconnect }.MapMethod("valve.open", (_, _) =>
        {
            device.Count();
            return ValueTask.FromResult(McpReply.Ok(answer));
        });
        device.Client = await McpClient.ConnectAsync("127.0.0.1", port, options);
        return device;
    }

    private static async Task KillAsync(McpdProcess node)
    {
        node.Process.Kill(); // SIGKILL: no unbinding, no goodbye; the announcement stays until its TTL
        await node.Process.WaitForExitAsync();
    }

    /// <summary>
    /// Starts <c>mcpd serve</c> as node <paramref name="nodeId"/> (null: the default id) on this test's Redis and waits
    /// until it announced itself (unless <paramref name="announced"/> is false); the MCP port it listens on.
    /// </summary>
    private async Task<(McpdProcess Node, int McpPort)> StartNodeAsync(string name, string? nodeId, int mcpPort = 0, string heartbeat = "00:00:01", bool announced = true)
    {
        var config = Path.Combine(_directory, $"{name}.yaml");
        await File.WriteAllTextAsync(config, $"""
            modbus:
              port: 0
            mcp:
              port: {mcpPort}
            admin:
              port: 0
            sessions:
              store: redis
              redis:
                connectionString: "{_redis.ConnectionString}"
                keyPrefix: "{_keyPrefix}"
            cluster:
              {(nodeId is null ? "" : $"nodeId: {nodeId}")}
              heartbeatInterval: "{heartbeat}"
            """);
        var (node, _) = await McpdProcess.StartAsync(McpdDll, config);
        _nodes.Add(node);
        var port = McpdProcess.ListenerPort(await node.WaitForOutputAsync("mcp listening on"));
        if (announced)
        {
            await node.WaitForOutputAsync("announces itself", timeout: TimeSpan.FromSeconds(60));
        }

        return (node, port);
    }

    private sealed class Device : IAsyncDisposable
    {
        private int _calls;

        public McpClient Client { get; set; } = null!;

        public int Calls => Volatile.Read(ref _calls);

        public void Count() => Interlocked.Increment(ref _calls);

        public ValueTask DisposeAsync() => Client.DisposeAsync();
    }
}
