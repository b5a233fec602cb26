using System.Threading.Channels;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Routing;

/// <summary>
/// A lane (docs/routing.md): a bounded queue with its own workers, so requests routed to one lane cannot hold up another.
/// A request that finds the lane full is refused at once (OVERLOADED) rather than waiting or being dropped; when the
/// lane stops, what is still queued is answered SHUTTING_DOWN.
/// </summary>
internal sealed class McpLane
{
    private readonly Channel<LaneWork> _queue;
    private readonly ILogger _logger;
    private long _rejected;
    private long _completed;
    private long _lastFullLog = long.MinValue / 2;
    private volatile bool _stopped;

    public McpLane(string name, LaneOptions options, ILogger logger)
    {
        Name = name;
        Workers = options.Workers;
        Capacity = options.Capacity;
        _logger = logger;
        _queue = Channel.CreateBounded<LaneWork>(new BoundedChannelOptions(options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = options.Workers == 1,
        });
    }

    public string Name { get; }

    public int Workers { get; }

    public int Capacity { get; }

    /// <summary>The message of an OVERLOADED answer from this lane.</summary>
    public string FullMessage => $"lane {Name} is full";

    /// <summary>Requests waiting.</summary>
    public int Depth => _queue.Reader.Count;

    /// <summary>True when a request now would be refused OVERLOADED (a racing worker may free a place a moment later).</summary>
    public bool IsFull => !_stopped && _queue.Reader.Count >= Capacity;

    /// <summary>Requests the workers have run, since start.</summary>
    public long Completed => Interlocked.Read(ref _completed);

    /// <summary>Requests refused because the lane was full, since start.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>
    /// Runs <paramref name="handler"/> for <paramref name="request"/> in this lane. A one-way request is answered OK
    /// as soon as it is queued (accepted; a later failure is logged); a two-way one with the handler's reply once a
    /// worker ran it. A full lane answers OVERLOADED and a stopped one SHUTTING_DOWN, at once.
    /// </summary>
    public ValueTask<McpReply?> SubmitAsync(McpIncomingRequest request, McpRequestHandler handler, CancellationToken cancellationToken)
    {
        var completion = request.IsOneWay ? null : new TaskCompletionSource<McpReply?>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_queue.Writer.TryWrite(new LaneWork(request, handler, completion, request.IsOneWay ? CancellationToken.None : cancellationToken)))
        {
            return completion is null ? ValueTask.FromResult<McpReply?>(McpReply.Ok()) : new ValueTask<McpReply?>(completion.Task);
        }

        if (_stopped)
        {
            return ValueTask.FromResult<McpReply?>(McpReply.Error(McpStatus.ShuttingDown, "the server is shutting down"));
        }

        CountRejected(request.Method, request.TraceId);
        return ValueTask.FromResult<McpReply?>(McpReply.Error(McpStatus.Overloaded, FullMessage));
    }

    /// <summary>Counts a request refused because the lane was full, and logs it at most once a second.</summary>
    public void CountRejected(ReadOnlySpan<char> method, string? traceId)
    {
        var rejected = Interlocked.Increment(ref _rejected);
        // A flood must not become a flood of log lines: one line per second per lane, with the running count.
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastFullLog);
        if (now - last >= 1000 && Interlocked.CompareExchange(ref _lastFullLog, now, last) == last)
        {
            var methodName = method.ToString();
            RoutingLog.LaneFull(_logger, Name, Capacity, methodName, traceId ?? "-", rejected);
        }
    }

    /// <summary>Runs the workers until the lane is completed and empty.</summary>
    public Task RunAsync() => Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(WorkAsync)));

    /// <summary>Refuses new work; the workers finish what is queued.</summary>
    public void Complete()
    {
        _stopped = true;
        _queue.Writer.TryComplete();
    }

    /// <summary>Answers SHUTTING_DOWN to whatever is still queued (the stop deadline passed).</summary>
    public void Abandon()
    {
        var count = 0;
        while (_queue.Reader.TryRead(out var work))
        {
            work.Completion?.TrySetResult(McpReply.Error(McpStatus.ShuttingDown, "the server is shutting down"));
            count++;
        }

        if (count > 0)
        {
            RoutingLog.LaneAbandoned(_logger, Name, count);
        }
    }

    private async Task WorkAsync()
    {
        await foreach (var work in _queue.Reader.ReadAllAsync())
        {
            using var scope = TraceScope.Begin(_logger, work.Request.TraceId);
            var reply = await HandlerInvoker.InvokeAsync(work.Handler, work.Request, _logger, work.Cancellation);
            Interlocked.Increment(ref _completed);
            if (work.Completion is null && reply is { Status: not McpStatus.Ok } failed)
            {
                RoutingLog.OneWayFailed(_logger, work.Request.Method, Name, failed.Status, work.Request.TraceId);
            }

            work.Completion?.TrySetResult(reply);
        }
    }
}

/// <summary>
/// A request waiting in a lane; <see cref="Completion"/> receives the reply (null for a one-way request, which was
/// acknowledged when it was queued; a null reply means the caller's connection ended).
/// </summary>
internal readonly record struct LaneWork(McpIncomingRequest Request, McpRequestHandler Handler, TaskCompletionSource<McpReply?>? Completion, CancellationToken Cancellation);
