using System.Net;
using System.Text;
using System.Text.Json;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Sessions;

/// <summary>Two mcpd nodes sharing sessions through a real redis-server (docs/sessions.md, "Several nodes").</summary>
public sealed class ClusterTests : IAsyncLifetime
{
    /// <summary>One prefix for both nodes (they share sessions), another for each test (they share nothing).</summary>
    private readonly string _keyPrefix = $"mcpd-test-{Guid.NewGuid():N}:";
    private RedisServer _redis = null!;
    private McpdTestServer _nodeA = null!;
    private McpdTestServer _nodeB = null!;

    public async ValueTask InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        try
        {
            _nodeA = await StartNodeAsync("node-a");
            _nodeB = await StartNodeAsync("node-b");
        }
        catch
        {
            await _redis.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _nodeA.DisposeAsync();
        await _nodeB.DisposeAsync();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task A_session_opened_on_node_a_resumes_on_node_b_with_its_context()
    {
        string sessionId;
        await using (var onA = await ConnectAsync(_nodeA))
        {
            sessionId = await SessionTests.OpenAsync(onA, "plc-7");
            Assert.Equal(McpStatus.Ok, (await onA.CallAsync("session.set", "hall-3"u8.ToArray(), [new("session", sessionId), new("key", "site")])).Status);
        }

        await using var onB = await ConnectAsync(_nodeB);
        var resumed = await onB.CallAsync("session.resume", headers: [new("session", sessionId)]);
        var site = await onB.CallAsync("session.get", headers: [new("session", sessionId), new("key", "site")]);

        Assert.Equal(McpStatus.Ok, resumed.Status);
        Assert.Equal("hall-3", site.BodyText);
    }

    [Fact]
    public async Task A_session_opened_with_a_token_on_node_a_resumes_on_node_b_only_with_that_token_and_Redis_never_holds_it()
    {
        // No sessions.tokens here: the token is the client's own secret, and still the proof of its session.
        const string token = "plc-7-own-secret-d41d8cd98f00b204";
        string sessionId;
        await using (var onA = await ConnectAsync(_nodeA))
        {
            sessionId = await SessionTests.OpenAsync(onA, "plc-7", token);
            Assert.Equal(McpStatus.Ok, (await onA.CallAsync("session.set", "hall-3"u8.ToArray(), [new("session", sessionId), new("key", "site")])).Status);
        }

        var session = new KeyValuePair<string, string>("session", sessionId);
        await using var thiefOnB = await ConnectAsync(_nodeB);
        var byIdAlone = await thiefOnB.CallAsync("session.resume", headers: [session]);
        var wrongToken = await thiefOnB.CallAsync("session.resume", """{"clientId":"plc-7","token":"plc-7-own-secret"}"""u8.ToArray(), [session]);
        var read = await thiefOnB.CallAsync("session.get", headers: [session, new("key", "site")]);
        await using var ownerOnB = await ConnectAsync(_nodeB);
        var resumed = await ownerOnB.CallAsync("session.resume", Encoding.UTF8.GetBytes($$"""{"clientId":"plc-7","token":"{{token}}"}"""), [session]);
        var site = await ownerOnB.CallAsync("session.get", headers: [session, new("key", "site")]);

        Assert.Equal(McpStatus.Unauthorized, byIdAlone.Status);
        Assert.Equal(McpStatus.Unauthorized, wrongToken.Status);
        Assert.Equal(McpStatus.Unauthorized, read.Status);
        Assert.Equal(McpStatus.Ok, resumed.Status);
        Assert.Equal("hall-3", site.BodyText);
        var stored = await RedisContentsAsync();
        Assert.Contains(sessionId, stored, StringComparison.Ordinal);
        Assert.Contains("owner", stored, StringComparison.Ordinal);
        Assert.DoesNotContain(token, stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Device_call_from_a_client_on_node_a_reaches_a_device_connected_to_node_b_and_comes_back()
    {
        var deviceOptions = new McpClientOptions().MapMethod("device.status", (request, _) =>
            ValueTask.FromResult(McpReply.Ok($"pump on node b: {Encoding.UTF8.GetString(request.Body.Span)} (trace {request.TraceId})")));
        await using var device = await McpClient.ConnectAsync("127.0.0.1", _nodeB.McpEndPoint.Port, deviceOptions);
        var deviceSession = await SessionTests.OpenAsync(device, "pump-1");
        await using var operatorOnA = await ConnectAsync(_nodeA);
        const string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

        var answer = await operatorOnA.CallAsync("device.call", "status?"u8.ToArray(),
            [new("target-session", deviceSession), new("target-method", "device.status"), new(McpHeaderNames.TraceParent, traceparent)]);

        Assert.True(answer.Status == McpStatus.Ok, $"{answer.Status} {answer.BodyText}\nnode A:\n{string.Join('\n', _nodeA.Logs.Lines.Select(l => l.Message))}\nnode B:\n{string.Join('\n', _nodeB.Logs.Lines.Select(l => l.Message))}");
        Assert.Equal("pump on node b: status? (trace 4bf92f3577b34da6a3ce929d0e0e4736)", answer.BodyText);
        Assert.Contains(_nodeA.Logs.Lines, l => l.EventId.Id == 656 && l.Message.Contains("node-b", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_request_whose_deadline_has_passed_is_dropped_on_arrival_and_one_within_it_runs()
    {
        var deviceCalls = 0;
        var deviceOptions = new McpClientOptions().MapMethod("device.status", (_, _) =>
        {
            Interlocked.Increment(ref deviceCalls);
            return ValueTask.FromResult(McpReply.Ok("running"));
        });
        await using var device = await McpClient.ConnectAsync("127.0.0.1", _nodeB.McpEndPoint.Port, deviceOptions);
        var deviceSession = await SessionTests.OpenAsync(device, "pump-1");
        await using var client = await ConnectAsync(_nodeA);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        KeyValuePair<string, string> Deadline(long milliseconds) => new("mcpd-deadline", milliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var lateEcho = await client.CallAsync("sys.echo", "late"u8.ToArray(), [Deadline(now - 1)]);
        var lateCall = await client.CallAsync("device.call", headers: [new("target-session", deviceSession), new("target-method", "device.status"), Deadline(now - 1)]);
        var echo = await client.CallAsync("sys.echo", "in time"u8.ToArray(), [Deadline(now + 60_000)]);
        var call = await client.CallAsync("device.call", headers: [new("target-session", deviceSession), new("target-method", "device.status"), Deadline(now + 60_000)]);

        Assert.Equal((McpStatus.Timeout, McpStatus.Timeout), (lateEcho.Status, lateCall.Status));
        Assert.Equal(("in time", "running"), (echo.BodyText, call.BodyText));
        Assert.Equal(1, deviceCalls);
    }

    [Fact]
    public async Task A_forwarded_call_naming_a_connection_that_lost_the_session_never_reaches_it()
    {
        var lostCalls = 0;
        var ownerCalls = 0;
        await using var lost = await McpClient.ConnectAsync("127.0.0.1", _nodeB.McpEndPoint.Port, new McpClientOptions().MapMethod("device.status", (_, _) =>
        {
            Interlocked.Increment(ref lostCalls);
            return ValueTask.FromResult(McpReply.Ok("stale"));
        }));
        var session = await SessionTests.OpenAsync(lost, "pump-1");
        // The binding as node A would read it for a call to the first connection: session, epoch, connection, boot, node.
        var fields = (await _redis.CliAsync("HMGET", $"{_keyPrefix}session:{session}", "epoch", "conn", "boot", "node")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var staleBinding = string.Join(' ', session, fields[0], fields[1], fields[2], fields[3]);
        await using var owner = await McpClient.ConnectAsync("127.0.0.1", _nodeB.McpEndPoint.Port, new McpClientOptions().MapMethod("device.status", (_, _) =>
        {
            Interlocked.Increment(ref ownerCalls);
            return ValueTask.FromResult(McpReply.Ok("owner"));
        }));
        Assert.Equal(McpStatus.Ok, (await owner.CallAsync("session.resume", headers: [new("session", session)])).Status);
        await using var caller = await ConnectAsync(_nodeB);

        // What a call forwarded before the takeover (or a client forging the header) names: the connection that lost it.
        var late = await caller.CallAsync("device.call", headers: [new("target-session", session), new("target-method", "device.status"), new("mcpd-binding", staleBinding)]);
        var current = await caller.CallAsync("device.call", headers: [new("target-session", session), new("target-method", "device.status")]);

        Assert.Equal(McpStatus.Unavailable, late.Status);
        Assert.Equal("owner", current.BodyText);
        Assert.Equal((0, 1), (lostCalls, ownerCalls));
    }

    [Fact]
    public async Task A_connection_told_it_lost_the_session_is_refused_without_keeping_the_session_alive()
    {
        var told = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var lost = await McpClient.ConnectAsync("127.0.0.1", _nodeB.McpEndPoint.Port, new McpClientOptions().MapMethod("session.taken", (_, _) =>
        {
            told.TrySetResult();
            return ValueTask.FromResult(McpReply.Ok());
        }));
        var opened = await lost.CallAsync("session.open", """{"clientId":"pump-1","ttl":60}"""u8.ToArray());
        var session = JsonDocument.Parse(opened.Body).RootElement.GetProperty("sessionId").GetString()!;
        await using var owner = await ConnectAsync(_nodeA);
        Assert.Equal(McpStatus.Ok, (await owner.CallAsync("session.resume", headers: [new("session", session)])).Status);
        await told.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);

        // A request that names the session goes through the session check (sys.echo is answered inline only without one).
        var refused = await lost.CallAsync("sys.echo", "hello"u8.ToArray(), [new("session", session)]);
        var remaining = long.Parse(await _redis.CliAsync("PTTL", $"{_keyPrefix}session:{session}"), System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(McpStatus.SessionExpired, refused.Status);
        // The resume set the expiry to 60 s two seconds ago; the refused request did not set it again.
        Assert.InRange(remaining, 1, 59_000);
    }

    [Fact]
    public async Task While_redis_is_down_sessions_answer_unavailable_readyz_sessions_is_503_readyz_stays_200_and_both_recover_when_it_returns()
    {
        await using var client = await ConnectAsync(_nodeA);
        using var http = new HttpClient { BaseAddress = _nodeA.AdminUri };
        await SessionTests.OpenAsync(client, "before");

        await _redis.StopAsync();
        var open = await client.CallAsync("session.open", """{"clientId":"during"}"""u8.ToArray());
        var named = await client.CallAsync("sys.echo", headers: [new("session", "AAAAAAAAAAAAAAAAAAAAAA")]);
        var plain = await client.CallAsync("sys.echo", "still serving"u8.ToArray());
        using var unready = await http.GetAsync(new Uri("readyz/sessions", UriKind.Relative));
        using var serving = await http.GetAsync(new Uri("readyz", UriKind.Relative));

        Assert.Equal(McpStatus.Unavailable, open.Status);
        Assert.Equal(McpStatus.Unavailable, named.Status);
        Assert.Equal("still serving", plain.BodyText);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unready.StatusCode);
        // Modbus and MCP without sessions still work: a load balancer keeps the node (and the whole fleet) in.
        Assert.Equal(HttpStatusCode.OK, serving.StatusCode);
        Assert.Contains("\"status\":\"Degraded\"", await serving.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        Assert.Contains(_nodeA.Logs.Lines, l => l.EventId.Id == 653);

        await _redis.StartAgainAsync();
        McpResponse? reopened = null;
        for (var attempt = 0; attempt < 100 && reopened?.Status != McpStatus.Ok; attempt++)
        {
            await Task.Delay(100);
            reopened = await client.CallAsync("session.open", """{"clientId":"after"}"""u8.ToArray());
        }

        Assert.Equal(McpStatus.Ok, reopened!.Status);
        using var ready = await http.GetAsync(new Uri("readyz/sessions", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(reopened.Body);
        Assert.Equal(22, body.RootElement.GetProperty("sessionId").GetString()!.Length);
    }

    /// <summary>Every key under this test's prefix with everything it holds (redis-cli's text: printable bytes as they are).</summary>
    private async Task<string> RedisContentsAsync()
    {
        var contents = new StringBuilder();
        foreach (var key in (await _redis.CliAsync("--scan", "--pattern", _keyPrefix + "*")).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var value = (await _redis.CliAsync("TYPE", key)).Trim() == "hash" ? await _redis.CliAsync("HGETALL", key) : await _redis.CliAsync("GET", key);
            contents.Append(key).Append('\n').Append(value);
        }

        return contents.ToString();
    }

    private Task<McpdTestServer> StartNodeAsync(string nodeId) => McpdTestServer.StartAsync(new Dictionary<string, string?>
    {
        ["sessions:store"] = "redis",
        ["sessions:redis:connectionString"] = _redis.ConnectionString,
        ["sessions:redis:keyPrefix"] = _keyPrefix,
        ["cluster:nodeId"] = nodeId,
        ["cluster:heartbeatInterval"] = "00:00:01",
    });

    private static Task<McpClient> ConnectAsync(McpdTestServer server) =>
        McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });
}
