using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using Mcpd.Client;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Gateway;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Mcp;

/// <summary>
/// Another mcpd node (docs/routing.md: region=south -> the regional node), reached over a small pool of
/// <see cref="McpClient"/> connections, each with heartbeat. A forwarded request keeps its method, headers and body;
/// its trace id travels in <c>traceparent</c> (added when the caller sent none), its deadline in
/// <see cref="McpDeadline.Header"/>, and a hop count stops forwarding loops. The answer goes back to the caller under
/// the caller's id.
/// </summary>
/// <remarks>
/// Failing fast: a connection that breaks is not re-made on a back-off timer (calls would wait for it); the next call
/// connects anew, a refused connect fails at once and so does every call for <see cref="RetryAfterFailedConnect"/>
/// after it. A circuit breaker counts the node's failures (no answer by the deadline plus <see cref="AnswerGrace"/>, a
/// broken or refused connection; never an answer, whatever its status): at half of at least
/// <see cref="BreakerMinimumThroughput"/> calls within <see cref="BreakerSamplingDuration"/> it opens, and calls answer
/// UNAVAILABLE at once for <see cref="BreakerBreakDuration"/>, then one call tries the node.
/// </remarks>
internal sealed class ForwardNode : IAsyncDisposable
{
    /// <summary>Header counting the nodes a request has passed; at <see cref="MaxHops"/> it is refused (a forwarding loop).</summary>
    public const string HopsHeader = "mcpd-hops";

    private const int MaxHops = 8;

    private static readonly ReconnectPolicy NoReconnect = ReconnectPolicy.Default with { MaxAttempts = 0 };

    private const int BreakerMinimumThroughput = 4;

    /// <summary>After a failed connect, calls fail fast for this long before the next attempt (no connect storm on a dead node).</summary>
    private static readonly TimeSpan RetryAfterFailedConnect = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long past the deadline this node waits for the other's answer: a live node answers TIMEOUT itself at the
    /// deadline (the device was slow), so only a node that does not answer at all counts as failing.
    /// </summary>
    private static readonly TimeSpan AnswerGrace = TimeSpan.FromMilliseconds(250);

    private static readonly TimeSpan BreakerSamplingDuration = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan BreakerBreakDuration = TimeSpan.FromSeconds(1);

    private readonly NodeOptions _options;
    private readonly HostPort _address;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Slot?[] _slots;
    private readonly UpstreamCircuit _breaker;
    private int _next;
    private volatile bool _disposed;

    public ForwardNode(string name, NodeOptions options, TimeProvider time, ILogger logger)
    {
        Name = name;
        _options = options;
        _address = HostPort.Parse(options.Address, 0);
        _time = time;
        _logger = logger;
        _slots = new Slot?[options.Connections];
        _breaker = new UpstreamCircuit(
            new UpstreamBreakerOptions { FailureRatio = 0.5, MinimumThroughput = BreakerMinimumThroughput, SamplingDuration = BreakerSamplingDuration, BreakDuration = BreakerBreakDuration },
            time,
            change => ForwardLog.CircuitChanged(logger, name, change));
    }

    public string Name { get; }

    /// <summary>host:port of the node.</summary>
    public string Address => _options.Address;

    /// <summary>Forwards <paramref name="request"/> and returns the node's answer, or TIMEOUT / UNAVAILABLE; never throws for the node's failures.</summary>
    public Task<McpReply> SendAsync(McpIncomingRequest request, CancellationToken cancellationToken) => SendAsync(request, null, cancellationToken);

    /// <summary>As <see cref="SendAsync(McpIncomingRequest, CancellationToken)"/>, with <paramref name="addedHeader"/> set (replacing the caller's of that name).</summary>
    public async Task<McpReply> SendAsync(McpIncomingRequest request, KeyValuePair<string, string>? addedHeader, CancellationToken cancellationToken)
    {
        using var span = McpdTracing.StartStep("mcpd.forward", ActivityKind.Client, "mcpd.node", Name);
        var deadline = McpDeadline.Within(request, _options.RequestTimeout, _time);
        var remaining = deadline - _time.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            return McpDeadline.Passed($"it was forwarded to node {Name}");
        }

        var headers = ForwardedHeaders(request, addedHeader, deadline, out var hops);
        if (hops > MaxHops)
        {
            return McpReply.Error(McpStatus.Unavailable, $"forwarding loop: the request has passed {MaxHops} nodes");
        }

        if (!_breaker.TryEnter(out var trial))
        {
            return McpReply.Error(McpStatus.Unavailable, $"node {Name} is failing (circuit open): calls to it fail at once for {BreakerBreakDuration}");
        }

        var verdict = AttemptVerdict.Unproven;
        try
        {
            var attempt = await AttemptAsync(request, headers, remaining, cancellationToken);
            verdict = attempt.NodeFailed ? AttemptVerdict.Failed : AttemptVerdict.Answered;
            return attempt.Reply;
        }
        finally
        {
            // A call its caller gave up proves nothing about the node, and hands a trial on.
            _breaker.Record(verdict, trial);
        }
    }

    /// <summary>One try at the node: its answer, or the failure that counts against it.</summary>
    private async Task<Attempt> AttemptAsync(McpIncomingRequest request, List<KeyValuePair<string, string>> headers, TimeSpan remaining, CancellationToken cancellationToken)
    {
        using var expiry = new CancellationTokenSource(remaining + AnswerGrace, _time);
        using var answerBy = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, expiry.Token);
        try
        {
            var client = await ClientAsync(answerBy.Token);
            if (request.IsOneWay)
            {
                var status = await client.SendOneWayAsync(request.Method, request.Body, headers, answerBy.Token);
                return new(status == McpStatus.Ok ? McpReply.Ok() : McpReply.Error(status, $"node {Name} refused the message"), NodeFailed: false);
            }

            return new(McpReply.From(await client.CallAsync(request.Method, request.Body, headers, answerBy.Token)), NodeFailed: false);
        }
        catch (Exception ex) when (ex is TimeoutException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            ForwardLog.ForwardFailed(_logger, request.Method, Name, request.TraceId, ex.Message);
            return new(McpReply.Error(McpStatus.Timeout, $"node {Name} did not answer within {remaining}"), NodeFailed: true);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            ForwardLog.ForwardFailed(_logger, request.Method, Name, request.TraceId, ex.Message);
            return new(McpReply.Error(McpStatus.Unavailable, $"node {Name} is unreachable: {ex.Message}"), NodeFailed: true);
        }
    }

    /// <summary>True when this node was made from settings equal to <paramref name="options"/>.</summary>
    public bool HasSettings(NodeOptions options) =>
        (options.Address, options.Connections, options.RequestTimeout, options.HeartbeatInterval)
        == (_options.Address, _options.Connections, _options.RequestTimeout, _options.HeartbeatInterval);

    /// <summary>Closes the node's connections once calls already sent through them can have been answered (hot reload replaced it).</summary>
    public async Task RetireAsync()
    {
        await Task.Delay(_options.RequestTimeout, _time);
        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        foreach (var slot in _slots)
        {
            if (slot?.Connecting is { IsCompletedSuccessfully: true } connected)
            {
                await connected.Result.DisposeAsync();
            }
        }
    }

    /// <summary>The headers as received, plus the caller's trace context, the deadline and one more hop.</summary>
    private static List<KeyValuePair<string, string>> ForwardedHeaders(McpIncomingRequest request, KeyValuePair<string, string>? addedHeader, DateTimeOffset deadline, out int hops)
    {
        var headers = new List<KeyValuePair<string, string>>(request.Headers.Count + 4);
        hops = 1;
        foreach (var header in request.Headers)
        {
            if (header.Key == addedHeader?.Key || header.Key == McpDeadline.Header)
            {
                continue;
            }

            if (header.Key == HopsHeader)
            {
                // A value that is not a plain count cannot reset the loop guard: it counts as the limit.
                hops = int.TryParse(header.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seen) && seen < MaxHops ? seen + 1 : MaxHops + 1;
                continue;
            }

            headers.Add(header);
        }

        AddTraceParentIfMissing(headers, request);
        McpdTracing.ContinueIn(headers);
        headers.Add(new(HopsHeader, hops.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        headers.Add(new(McpDeadline.Header, McpDeadline.Format(deadline)));
        if (addedHeader is { } added)
        {
            headers.Add(added);
        }

        return headers;
    }

    /// <summary>Passes the request's trace on: when the caller sent no <c>traceparent</c>, one is made with the request's trace id.</summary>
    public static void AddTraceParentIfMissing(List<KeyValuePair<string, string>> headers, McpIncomingRequest request)
    {
        if (request.Header(McpHeaderNames.TraceParent) is null)
        {
            // W3C Trace Context: version 00, the request's trace id, a new parent (span) id, sampled.
            headers.Add(new(McpHeaderNames.TraceParent, $"00-{request.TraceId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}-01"));
        }
    }

    /// <summary>The next connection of the pool, round-robin; connects it on first use and after the client gave up reconnecting.</summary>
    private Task<McpClient> ClientAsync(CancellationToken cancellationToken)
    {
        var index = (int)((uint)Interlocked.Increment(ref _next) % (uint)_slots.Length);
        while (true)
        {
            var slot = Volatile.Read(ref _slots[index]);
            if (slot is not null && !(slot.Connecting.IsFaulted && _time.GetElapsedTime(slot.StartedAt) >= RetryAfterFailedConnect))
            {
                return slot.Connecting.WaitAsync(cancellationToken);
            }

            var fresh = new Slot(_time.GetTimestamp());
            if (Interlocked.CompareExchange(ref _slots[index], fresh, slot) == slot)
            {
                _ = ConnectAsync(index, fresh);
                return fresh.Connecting.WaitAsync(cancellationToken);
            }
        }
    }

    /// <summary>Connects the slot's client; the slot's task carries the client or the failure to every waiting call.</summary>
    private async Task ConnectAsync(int index, Slot slot)
    {
        try
        {
            var client = await McpClient.ConnectAsync(_address.Host, _address.Port, new McpClientOptions
            {
                // Each call is bounded by its deadline (plus the grace); the client's own timeout only backs that up.
                RequestTimeout = _options.RequestTimeout + AnswerGrace,
                ConnectTimeout = _options.RequestTimeout,
                HeartbeatInterval = _options.HeartbeatInterval,
                Reconnect = NoReconnect,
                Logger = _logger,
                Time = _time,
            });
            if (_disposed)
            {
                // The node was closed while this connection was being made.
                await client.DisposeAsync();
                throw new ObjectDisposedException(nameof(ForwardNode), $"node {Name} is closed");
            }

            // A broken connection fails its calls and leaves the slot; the next call makes a new one.
            client.ConnectionLost += (_, _) =>
            {
                if (Interlocked.CompareExchange(ref _slots[index], null, slot) == slot)
                {
                    _ = client.DisposeAsync().AsTask();
                }
            };
            slot.Completion.TrySetResult(client);
        }
        catch (Exception ex)
        {
            slot.Completion.TrySetException(ex);
        }
    }

    /// <summary>What one try at the node gave, and whether it counts against the node (<see cref="_breaker"/>).</summary>
    private readonly record struct Attempt(McpReply Reply, bool NodeFailed);

    /// <summary>One connection of the pool: when its connect started, and the client once connected.</summary>
    private sealed class Slot(long startedAt)
    {
        public long StartedAt { get; } = startedAt;

        public TaskCompletionSource<McpClient> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<McpClient> Connecting => Completion.Task;
    }
}
