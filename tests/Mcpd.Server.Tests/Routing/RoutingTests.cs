using System.Text;
using System.Text.Json;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Hosting;
using Mcpd.Server.Transport;
using Mcpd.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Mcpd.Server.Tests.Routing;

/// <summary>Routing of MCP requests (docs/routing.md): mapped handlers, rules, lanes, devices, forwarding, the default.</summary>
public abstract class RoutingTests(TransportKind transport)
{
    private const string Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    [Fact]
    public async Task A_mapped_handler_sees_method_headers_body_and_trace_id_and_may_answer_later()
    {
        await using var server = await StartAsync(configure: builder => builder.Services
            .AddMcpMethod("telemetry.report", async (request, cancellationToken) =>
            {
                await Task.Delay(10, cancellationToken);
                return McpReply.Ok($"{request.Method} {request.Header("site")} {Encoding.UTF8.GetString(request.Body.Span)} {request.TraceId}");
            }));
        await using var client = await ConnectAsync(server);

        var response = await client.CallAsync("telemetry.report", "t=21.5"u8.ToArray(), [new("site", "hall-3"), new(McpHeaderNames.TraceParent, Traceparent)]);

        Assert.Equal(McpStatus.Ok, response.Status);
        Assert.Equal("telemetry.report hall-3 t=21.5 4bf92f3577b34da6a3ce929d0e0e4736", response.BodyText);
    }

    [Fact]
    public async Task Rules_match_method_globs_and_header_equals_globs_and_existence_first_match_wins()
    {
        await using var server = await StartAsync(Settings(
            ("routing:lanes:fast:workers", "1"),
            ("routing:lanes:bulk:workers", "1"),
            ("routing:rules:0:method", "telemetry.*"),
            ("routing:rules:0:headers:priority", "high"),
            ("routing:rules:0:target", "lane:fast"),
            ("routing:rules:1:headers:region", "south-*"),
            ("routing:rules:1:target", "lane:fast"),
            ("routing:rules:2:headers:batch", "*"),
            ("routing:rules:2:target", "lane:bulk"),
            ("routing:rules:3:method", "telemetry.*"),
            ("routing:rules:3:target", "lane:bulk")),
            builder => builder.Services.AddMcpMethod("telemetry.report", (_, _) => ValueTask.FromResult(McpReply.Ok())));
        await using var client = await ConnectAsync(server);

        Assert.Equal("fast", await LaneThatServedAsync(server, () => client.CallAsync("telemetry.report", headers: [new("priority", "high")])));
        Assert.Equal("bulk", await LaneThatServedAsync(server, () => client.CallAsync("telemetry.report", headers: [new("priority", "low")])));
        Assert.Equal("fast", await LaneThatServedAsync(server, () => client.CallAsync("telemetry.report", headers: [new("region", "south-2")])));
        Assert.Equal("bulk", await LaneThatServedAsync(server, () => client.CallAsync("telemetry.report", headers: [new("batch", "")])));
        // A built-in method routed to a lane runs there too; unrouted, it is answered on the connection.
        Assert.Equal("bulk", await LaneThatServedAsync(server, () => client.CallAsync("sys.echo", "routed"u8.ToArray(), [new("batch", "1")])));
        Assert.Equal("none", await LaneThatServedAsync(server, () => client.CallAsync("sys.echo")));
        Assert.Equal(McpStatus.NotFound, (await client.CallAsync("no.such", headers: [new("batch", "1")])).Status);
    }

    [Fact]
    public async Task A_full_lane_answers_overloaded_at_once_and_one_way_messages_are_acked_when_queued()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handled = 0;
        await using var server = await StartAsync(Settings(
            ("routing:lanes:slow:workers", "1"),
            ("routing:lanes:slow:capacity", "2"),
            ("routing:rules:0:method", "work"),
            ("routing:rules:0:target", "lane:slow")),
            builder => builder.Services.AddMcpMethod("work", async (_, _) =>
            {
                started.TrySetResult();
                await gate.Task;
                Interlocked.Increment(ref handled);
                return McpReply.Ok();
            }));
        await using var client = await ConnectAsync(server);

        // One runs (the worker waits at the gate), two wait in the lane: the lane is full.
        var running = client.CallAsync("work");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var queued = new[] { client.SendOneWayAsync("work"), client.SendOneWayAsync("work") };
        Assert.Equal([McpStatus.Ok, McpStatus.Ok], await Task.WhenAll(queued));

        var refused = await client.CallAsync("work");
        var refusedOneWay = await client.SendOneWayAsync("work");

        Assert.Equal(McpStatus.Overloaded, refused.Status);
        using (var body = JsonDocument.Parse(refused.Body))
        {
            Assert.Equal("OVERLOADED", body.RootElement.GetProperty("status").GetString());
        }

        Assert.Equal(McpStatus.Overloaded, refusedOneWay);
        gate.SetResult();
        Assert.Equal(McpStatus.Ok, (await running).Status);
        await Eventually.HoldsAsync(() => Volatile.Read(ref handled) == 3, TimeSpan.FromSeconds(5));
        Assert.Contains(server.Logs.Lines, e => e.EventId.Id == 602);
    }

    [Fact]
    public async Task A_connection_refused_overloaded_is_read_again_only_after_its_backoff()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await StartAsync(Settings(
            ("routing:lanes:slow:workers", "1"),
            ("routing:lanes:slow:capacity", "1"),
            ("routing:rules:0:method", "work"),
            ("routing:rules:0:target", "lane:slow"),
            ("mcp:heartbeatInterval", "01:00:00")),
            builder =>
            {
                builder.Services.AddSingleton<TimeProvider>(time);
                builder.Services.AddMcpMethod("work", async (_, _) =>
                {
                    started.TrySetResult();
                    await gate.Task;
                    return McpReply.Ok();
                });
            });
        await using var flooder = await ConnectAsync(server);
        // One runs (its worker waits at the gate), one waits in the lane: the lane is full.
        var running = flooder.CallAsync("work");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var queued = flooder.CallAsync("work");
        await Eventually.HoldsAsync(() => Lanes(server).Single().Depth == 1, TimeSpan.FromSeconds(5));

        var refused = await flooder.CallAsync("work");
        var next = flooder.CallAsync("sys.echo", "after the pause"u8.ToArray());
        await Task.Delay(300);
        Assert.False(next.IsCompleted, "the connection was read again before its backoff ended");
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(McpStatus.Overloaded, refused.Status);
        Assert.Equal("after the pause", (await next.WaitAsync(TimeSpan.FromSeconds(5))).BodyText);
        gate.SetResult();
        Assert.Equal(McpStatus.Ok, (await running).Status);
        Assert.Equal(McpStatus.Ok, (await queued).Status);
    }

    [Fact]
    public async Task Sys_delay_answers_after_its_delay_and_refuses_a_missing_or_absurd_one()
    {
        await using var server = await StartAsync();
        await using var client = await ConnectAsync(server);
        var started = System.Diagnostics.Stopwatch.StartNew();

        var delayed = await client.CallAsync("sys.delay", "x"u8.ToArray(), [new("delay-ms", "50")]);
        var elapsed = started.Elapsed;
        var missing = await client.CallAsync("sys.delay");
        var absurd = await client.CallAsync("sys.delay", headers: [new("delay-ms", "99999")]);

        Assert.Equal("x", delayed.BodyText);
        Assert.True(elapsed >= TimeSpan.FromMilliseconds(45), $"answered after {elapsed}");
        Assert.Equal(McpStatus.BadRequest, missing.Status);
        Assert.Equal(McpStatus.BadRequest, absurd.Status);
    }

    [Fact]
    public async Task A_device_route_runs_the_body_as_a_modbus_pdu_on_the_named_device_and_modbus_pdu_takes_a_device_header()
    {
        await using var server = await StartAsync(Settings(
            ("routing:rules:0:method", "plc.*"),
            ("routing:rules:0:target", "device:sensor")));
        await using var client = await ConnectAsync(server);

        var routed = await client.CallAsync("plc.read", Convert.FromHexString("0300000002"));
        var byName = await client.CallAsync("modbus.pdu", Convert.FromHexString("0300010001"), [new("device", "SENSOR")]);
        var unknown = await client.CallAsync("modbus.pdu", Convert.FromHexString("0300010001"), [new("device", "boiler")]);

        Assert.Equal("030400640055", Convert.ToHexString(routed.Body));
        Assert.Equal("03020055", Convert.ToHexString(byName.Body));
        Assert.Equal(McpStatus.BadRequest, unknown.Status);
    }

    [Fact]
    public async Task Forwarding_reaches_the_other_node_and_returns_with_the_callers_id_and_trace_id()
    {
        await using var south = await StartAsync(configure: builder => builder.Services
            .AddMcpMethod("grid.status", (request, _) => ValueTask.FromResult(McpReply.Ok(
                Encoding.UTF8.GetBytes($"south saw {request.Header("region")} {request.TraceId} hops={request.Header("mcpd-hops")}"), [new("node", "south")]))));
        await using var north = await StartAsync(Settings(
            ("nodes:south:address", $"127.0.0.1:{south.McpEndPoint.Port}"),
            ("nodes:south:connections", "2"),
            ("routing:rules:0:headers:region", "south"),
            ("routing:rules:0:target", "forward:south")));
        await using var client = await ConnectAsync(north);

        var calls = Enumerable.Range(0, 20).Select(_ => client.CallAsync("grid.status", headers: [new("region", "south"), new(McpHeaderNames.TraceParent, Traceparent)]));
        var responses = await Task.WhenAll(calls);
        var untraced = await client.CallAsync("grid.status", headers: [new("region", "south")]);
        var oneWay = await client.SendOneWayAsync("grid.status", headers: [new("region", "south")]);
        var missing = await client.CallAsync("no.such", headers: [new("region", "south")]);

        Assert.All(responses, r =>
        {
            Assert.Equal(McpStatus.Ok, r.Status);
            Assert.Equal("south saw south 4bf92f3577b34da6a3ce929d0e0e4736 hops=1", r.BodyText);
            Assert.Contains(new KeyValuePair<string, string>("node", "south"), r.Headers);
        });
        Assert.Equal(20, responses.Select(r => r.Id).Distinct().Count());
        Assert.Matches("^south saw south [0-9a-f]{32} hops=1$", untraced.BodyText);
        Assert.Equal(McpStatus.Ok, oneWay);
        Assert.Equal(McpStatus.NotFound, missing.Status);
    }

    [Fact]
    public async Task Forwarding_to_a_dead_node_answers_unavailable_and_the_default_route_catches_the_rest()
    {
        var port = FreePort();
        await using var server = await StartAsync(Settings(
            ("nodes:central:address", $"127.0.0.1:{port}"),
            ("nodes:central:requestTimeout", "00:00:01"),
            ("routing:default", "forward:central")));
        await using var client = await ConnectAsync(server);

        var unknown = await client.CallAsync("anything.else");
        var builtIn = await client.CallAsync("sys.echo", "local"u8.ToArray());

        Assert.Equal(McpStatus.Unavailable, unknown.Status);
        Assert.Contains("central", unknown.BodyText, StringComparison.Ordinal);
        Assert.Equal("local", builtIn.BodyText);
        Assert.Contains(server.Logs.Lines, e => e.EventId.Id == 604);
    }

    [Fact]
    public async Task A_node_that_never_answers_is_cut_off_by_its_circuit_breaker_and_calls_then_fail_at_once()
    {
        // A hung node: the kernel completes the connection (the backlog), nobody ever reads or answers.
        using var hung = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        hung.Start();
        await using var server = await StartAsync(Settings(
            ("nodes:hung:address", $"127.0.0.1:{((System.Net.IPEndPoint)hung.LocalEndpoint).Port}"),
            ("nodes:hung:requestTimeout", "300ms"),
            ("routing:default", "forward:hung")));
        await using var client = await ConnectAsync(server);

        var timedOut = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => client.CallAsync("grid.status")));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var cutOff = await client.CallAsync("grid.status");
        clock.Stop();

        Assert.All(timedOut, answer => Assert.Equal(McpStatus.Timeout, answer.Status));
        Assert.Equal(McpStatus.Unavailable, cutOff.Status);
        Assert.Contains("circuit open", cutOff.BodyText, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(200), $"the open circuit answered after {clock.Elapsed}");
    }

    [Fact]
    public async Task A_reply_that_cannot_be_encoded_is_answered_internal_and_the_connection_stays()
    {
        await using var server = await StartAsync(configure: builder => builder.Services
            .AddMcpMethod("bad.headers", (_, _) => ValueTask.FromResult(McpReply.Ok("x"u8.ToArray(), [new("Content-Type", "text/plain")])))
            .AddMcpMethod("bad.later", async (_, cancellationToken) =>
            {
                await Task.Delay(10, cancellationToken);
                return McpReply.Ok("x"u8.ToArray(), [new("Content-Type", "text/plain")]);
            }));
        await using var client = await ConnectAsync(server);

        var now = await client.CallAsync("bad.headers");
        var later = await client.CallAsync("bad.later");

        Assert.Equal(McpStatus.Internal, now.Status);
        Assert.Contains("cannot be sent", now.BodyText, StringComparison.Ordinal);
        Assert.Equal(McpStatus.Internal, later.Status);
        Assert.Equal("still here", (await client.CallAsync("sys.echo", "still here"u8.ToArray())).BodyText);
    }

    [Fact]
    public async Task A_forged_hop_count_cannot_reset_the_loop_guard()
    {
        await using var south = await StartAsync();
        await using var north = await StartAsync(Settings(
            ("nodes:south:address", $"127.0.0.1:{south.McpEndPoint.Port}"),
            ("routing:rules:0:method", "sys.echo"),
            ("routing:rules:0:target", "forward:south")));
        await using var client = await ConnectAsync(north);

        var forged = await client.CallAsync("sys.echo", headers: [new("mcpd-hops", "-1000000")]);
        var honest = await client.CallAsync("sys.echo", "ok"u8.ToArray(), [new("mcpd-hops", "2")]);

        Assert.Equal(McpStatus.Unavailable, forged.Status);
        Assert.Equal("ok", honest.BodyText);
    }

    [Fact]
    public void Routing_config_errors_name_their_key_paths()
    {
        var problems = Mcpd.Server.Configuration.McpdOptionsValidator.CheckConfiguration(
            new ConfigurationBuilder().AddInMemoryCollection(Settings(
                ("routing:lanes:fast:workers", "0"),
                ("routing:rules:0:target", "lane:missing"),
                ("routing:rules:1:target", "queue:x"),
                ("routing:rules:2:headers:Region", "x"),
                ("routing:rules:2:target", "device:sensor"),
                ("routing:default", "forward:nowhere"),
                ("nodes:south:address", "no-port"))).Build());

        Assert.Contains("routing:lanes:fast:workers: 0 is outside 1..1024", problems);
        Assert.Contains("routing:rules:0:target: no lane 'missing' in routing:lanes", problems);
        Assert.Contains("routing:rules:1:target: 'queue:x' is not lane:NAME, device:NAME or forward:NODE", problems);
        Assert.Contains("routing:rules:2:headers:Region: header keys are 1..255 lowercase printable ASCII characters", problems);
        Assert.Contains("routing:default: no forward 'nowhere' in nodes", problems);
        Assert.Contains("nodes:south:address: 'no-port' is not host:port", problems);
    }

    private static IEnumerable<Mcpd.Server.Routing.McpLane> Lanes(McpdTestServer server) =>
        ((Mcpd.Server.Routing.McpRouter)server.Services.GetService(typeof(Mcpd.Server.Routing.McpRouter))!).Lanes;

    /// <summary>Makes one successful call and names the lane whose completed count it raised ("none": answered on the connection).</summary>
    private static async Task<string> LaneThatServedAsync(McpdTestServer server, Func<Task<McpResponse>> call)
    {
        var before = Lanes(server).ToDictionary(l => l.Name, l => l.Completed);
        Assert.Equal(McpStatus.Ok, (await call()).Status);
        return Lanes(server).SingleOrDefault(l => l.Completed != before[l.Name])?.Name ?? "none";
    }

    private static Dictionary<string, string?> Settings(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => (string?)p.Value);

    private static Task<McpClient> ConnectAsync(McpdTestServer server) =>
        McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private Task<McpdTestServer> StartAsync(Dictionary<string, string?>? settings = null, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null) =>
        McpdTestServer.StartAsync(McpdTestServer.WithTransport(transport, settings), configure);
}

/// <summary>The tests above over mcpd's epoll transport.</summary>
public sealed class RoutingTestsOnEpoll() : RoutingTests(TransportKind.Epoll);

/// <summary>The tests above over Kestrel's socket transport.</summary>
public sealed class RoutingTestsOnSockets() : RoutingTests(TransportKind.Sockets);
