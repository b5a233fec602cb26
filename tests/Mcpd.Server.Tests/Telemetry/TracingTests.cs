using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Hosting;
using Mcpd.Server.Telemetry;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Tests.Telemetry;

/// <summary>Trace ids (W3C traceparent) in logs, error bodies, forwarded requests and spans (docs/observability.md).</summary>
public partial class TracingTests
{
    // A trace id of this test run only: the activity source is process-wide, and tests running beside these (other
    // hosts, fixed trace ids of their own) must not show up among the spans these tests count.
    private static readonly string TraceId = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray());
    private const string CallerSpanId = "00f067aa0ba902b7";
    private static readonly string Traceparent = $"00-{TraceId}-{CallerSpanId}-01";

    [Fact]
    public async Task A_traceparent_sent_to_node_A_is_in_the_log_lines_of_A_and_of_the_node_it_forwards_to()
    {
        ILogger? handlerLogger = null;
        await using var b = await McpdTestServer.StartAsync(configure: builder => builder.Services.AddMcpMethod("x.hello", (request, _) =>
        {
            LogHello(handlerLogger!, request.Method);
            return ValueTask.FromResult(McpReply.Ok(request.TraceId));
        }));
        handlerLogger = b.Services.GetRequiredService<ILoggerFactory>().CreateLogger("x.hello handler");
        await using var a = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["nodes:b:address"] = $"127.0.0.1:{b.McpEndPoint.Port}",
            ["routing:rules:0:method"] = "x.*",
            ["routing:rules:0:target"] = "forward:b",
        });
        await using var client = await ConnectAsync(a);

        var response = await client.CallAsync("x.hello", headers: [new(McpHeaderNames.TraceParent, Traceparent)]);

        Assert.Equal(McpStatus.Ok, response.Status);
        Assert.Equal(TraceId, response.BodyText);
        var onB = await b.Logs.WaitForAsync("x.hello ran");
        Assert.Equal(TraceId, onB.Scope(TraceScope.TraceIdKey));
        var dispatchedOnA = await a.Logs.WaitForAsync("x.hello goes to forward:b");
        Assert.Equal(TraceId, dispatchedOnA.Scope(TraceScope.TraceIdKey));
        Assert.Equal(TraceId, (await b.Logs.WaitForAsync("x.hello goes to its handler")).Scope(TraceScope.TraceIdKey));
        // Lines logged outside any request carry no trace id.
        Assert.Null((await a.Logs.WaitForAsync("Routing:")).Scope(TraceScope.TraceIdKey));
    }

    [Fact]
    public async Task The_trace_id_of_an_error_body_is_the_traceparents()
    {
        await using var server = await McpdTestServer.StartAsync(configure: builder => builder.Services
            .AddMcpMethod("t.fail", (_, _) => throw new InvalidOperationException("broken on purpose")));
        await using var client = await ConnectAsync(server);

        var notFound = await client.CallAsync("no.such", headers: [new(McpHeaderNames.TraceParent, Traceparent)]);
        var failed = await client.CallAsync("t.fail", headers: [new(McpHeaderNames.TraceParent, Traceparent)]);
        var badPdu = await client.CallAsync("modbus.pdu", headers: [new(McpHeaderNames.TraceParent, Traceparent)]);

        Assert.Equal(McpStatus.NotFound, notFound.Status);
        Assert.Equal(McpStatus.Internal, failed.Status);
        Assert.Equal(McpStatus.BadRequest, badPdu.Status);
        Assert.All(new[] { notFound, failed, badPdu }, response => Assert.Equal(TraceId, TraceIdOfBody(response)));
        Assert.Equal(TraceId, (await server.Logs.WaitForAsync("The handler of t.fail failed")).Scope(TraceScope.TraceIdKey));
    }

    [Fact]
    public async Task Request_spans_have_the_callers_traceparent_as_parent_and_their_trace_id_is_the_requests()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == McpdTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var b = await McpdTestServer.StartAsync(configure: builder => builder.Services
            .AddMcpMethod("x.id", (request, _) => ValueTask.FromResult(McpReply.Ok(request.TraceId))));
        await using var a = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["nodes:b:address"] = $"127.0.0.1:{b.McpEndPoint.Port}",
            ["routing:rules:0:method"] = "x.*",
            ["routing:rules:0:target"] = "forward:b",
        });
        await using var client = await ConnectAsync(a);
        await using var modbus = await a.ConnectClientAsync();

        var echo = await client.CallAsync("sys.echo", headers: [new(McpHeaderNames.TraceParent, Traceparent)]);
        var forwarded = await client.CallAsync("x.id", headers: [new(McpHeaderNames.TraceParent, Traceparent)]);
        var untraced = await client.CallAsync("x.id");
        await modbus.ReadHoldingRegistersAsync(1, 0, 2);

        Assert.Equal(McpStatus.Ok, echo.Status);
        var ours = stopped.Where(s => s.TraceId.ToHexString() == TraceId).ToList();
        var echoSpan = Assert.Single(ours, s => s.OperationName == "mcp.request" && (string?)s.GetTagItem("mcp.method") == "sys.echo");
        Assert.Equal(CallerSpanId, echoSpan.ParentSpanId.ToHexString());
        Assert.Equal(ActivityKind.Server, echoSpan.Kind);
        Assert.Equal("OK", echoSpan.GetTagItem("mcp.status"));

        // A: request span (parent: the caller) -> forward span; B: request span (parent: A's forward span).
        Assert.Equal(TraceId, forwarded.BodyText);
        var requestSpans = ours.Where(s => s.OperationName == "mcp.request" && (string?)s.GetTagItem("mcp.method") == "x.id").ToList();
        Assert.Equal(2, requestSpans.Count);
        var onA = Assert.Single(requestSpans, s => s.ParentSpanId.ToHexString() == CallerSpanId);
        var forward = Assert.Single(ours, s => s.OperationName == "mcpd.forward");
        Assert.Equal(onA.SpanId, forward.ParentSpanId);
        Assert.Equal("b", forward.GetTagItem("mcpd.node"));
        Assert.Single(requestSpans, s => s.ParentSpanId == forward.SpanId);

        // Without a traceparent the request's trace id is its span's, on both nodes.
        Assert.Equal(McpStatus.Ok, untraced.Status);
        Assert.Equal(2, stopped.Count(s => s.OperationName == "mcp.request" && s.TraceId.ToHexString() == untraced.BodyText));

        Assert.Contains(stopped, s => s.OperationName == "modbus.request" && (byte?)s.GetTagItem("modbus.function") == 3);
    }

    [Fact]
    public async Task No_span_is_made_when_tracing_is_disabled_even_with_a_listener()
    {
        var started = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == McpdTracing.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = started.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["telemetry:tracing:enabled"] = "false" });
        await using var client = await ConnectAsync(server);
        const string otherTrace = "0af7651916cd43dd8448eb211c80319c";

        var missing = await client.CallAsync("no.such", headers: [new(McpHeaderNames.TraceParent, $"00-{otherTrace}-b7ad6b7169203331-01")]);

        Assert.Equal(otherTrace, TraceIdOfBody(missing));
        Assert.DoesNotContain(started, s => s.TraceId.ToHexString() == otherTrace);
    }

    private static string? TraceIdOfBody(McpResponse response)
    {
        using var body = JsonDocument.Parse(Encoding.UTF8.GetString(response.Body));
        return body.RootElement.GetProperty("traceId").GetString();
    }

    private static Task<McpClient> ConnectAsync(McpdTestServer server) =>
        McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "{Method} ran")]
    private static partial void LogHello(ILogger logger, string method);
}
