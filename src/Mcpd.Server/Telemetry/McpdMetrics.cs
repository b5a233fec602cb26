using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.RegularExpressions;
using Mcpd.Protocols.Mcp;
using Mcpd.Protocols.Modbus;

namespace Mcpd.Server.Telemetry;

/// <summary>
/// The instruments of the <c>Mcpd</c> meter that code records into (docs/observability.md lists every metric); the
/// observed ones (connections, sessions, lanes, upstreams) are callbacks the host adds (<c>McpdObservedMetrics</c>).
/// Recording a request allocates nothing: tag values come from tables built once, tags travel in a
/// <see cref="TagList"/> (a struct), and latency is measured between two <see cref="Stopwatch"/> timestamps. Request counts are kept per thread in plain
/// arrays (one writer each: no atomics, no shared cache lines) and read when an exporter collects
/// (<c>mcpd.requests</c> is an observable counter): at a million requests a second, a shared counter's tag lookup
/// and contention cost more than the request itself (docs/performance.md).
/// </summary>
public sealed partial class McpdMetrics : IDisposable
{
    /// <summary>The meter's name, as exporters and listeners select it.</summary>
    public const string MeterName = "Mcpd";

    /// <summary>Method names that keep a series of their own; later new names are counted as <see cref="OtherMethod"/>.</summary>
    internal const int MaxMethodTags = 100;

    internal const string OtherMethod = "other";

    /// <summary>The Modbus latency histogram's name (seconds, one untagged series).</summary>
    public const string ModbusDurationName = "mcpd.modbus.request.duration";

    /// <summary>The MCP latency histogram's name (seconds, one untagged series).</summary>
    public const string McpDurationName = "mcpd.mcp.request.duration";

    private const string ModbusProtocol = "modbus";
    private const string McpProtocol = "mcp";

    /// <summary>Latency buckets in seconds: 50 µs (a simulated register read) to 10 s (a slow upstream timing out).</summary>
    private static readonly double[] LatencyBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>"0x03" for every function code, so a request's tags never format a number.</summary>
    private static readonly string[] FunctionTags = [.. Enumerable.Range(0, 256).Select(code => $"0x{code:x2}")];

    /// <summary>"ok" at 0, then the exception names of Application Protocol 7 in snake case ("illegal_data_address").</summary>
    private static readonly string[] ModbusStatusTags = [.. Enumerable.Range(0, 256).Select(ModbusStatusName)];

    /// <summary>Modbus count slots per function: 0 ok, 1..15 exception codes 1..15, then other exceptions, then no answer.</summary>
    private const int ModbusStatusSlots = 18;
    private const int ModbusOtherException = 16;
    private const int ModbusNoResponse = 17;

    /// <summary>MCP count slots per method tag: one per status code, the last for codes added later.</summary>
    private const int McpStatusSlots = 16;

    private readonly ThreadLocal<RequestCounts> _counts;
    private volatile bool _disposed;
    private readonly ObservableCounter<long> _requests;
    private readonly Histogram<double> _mcpDuration;
    private readonly Histogram<double> _modbusDuration;
    private readonly ConcurrentDictionary<string, int> _methodIndex = new(StringComparer.Ordinal);
    private readonly string[] _methodByIndex = new string[MaxMethodTags + 1];
    private readonly Counter<long> _crcResyncs;
    private readonly Counter<long> _crcDroppedBytes;
    private readonly Counter<long> _heartbeatTimeouts;
    private readonly Counter<long> _configReloads;
    private readonly Counter<long> _connectionsRefused;
    private readonly Counter<long> _tlsHandshakeFailures;
    private readonly Counter<long> _requestsDenied;
    private readonly Counter<long> _adminAuthFailures;
    private readonly Counter<long> _sessionTakeovers;
    private readonly Histogram<double> _redisDuration;
    private readonly Counter<long> _redisErrors;
    private readonly Counter<long> _forwards;
    private readonly Histogram<double> _forwardDuration;
    private readonly Counter<long> _announcements;
    private readonly ConcurrentDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _methodIndexBySpan;

    /// <summary>Creates the instruments on a meter made by <paramref name="meters"/> (one per host).</summary>
    public McpdMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        Meter = meters.Create(MeterName);
        _counts = new ThreadLocal<RequestCounts>(() => new RequestCounts(), trackAllValues: true);
        _methodByIndex[0] = OtherMethod;
        _methodIndex[OtherMethod] = 0;
        _requests = Meter.CreateObservableCounter("mcpd.requests", ObserveRequests, "{request}", "Requests answered, by protocol, function or method, and status.");
        // Latency has one series per protocol, without tags: the series takes the exporter's fast path, while a lookup
        // by function (or method) and status cost more than a pipelined request itself (docs/performance.md);
        // mcpd.requests has that breakdown, and spans have the latency of each request.
        _mcpDuration = Meter.CreateHistogram(McpDurationName, "s", "Time from reading an MCP request to writing its answer.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _modbusDuration = Meter.CreateHistogram(ModbusDurationName, "s", "Time from reading a Modbus request to writing its answer.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _crcResyncs = Meter.CreateCounter<long>("mcpd.mcp.crc.resyncs", "{resync}", "Times a CRC-framed MCP listener skipped bytes to find the next 0x5A frame.");
        _crcDroppedBytes = Meter.CreateCounter<long>("mcpd.mcp.crc.dropped", "By", "Bytes skipped while resynchronising CRC-framed MCP input.");
        _heartbeatTimeouts = Meter.CreateCounter<long>("mcpd.mcp.heartbeat.timeouts", "{connection}", "MCP connections closed after 3 heartbeat intervals of silence.");
        _connectionsRefused = Meter.CreateCounter<long>("mcpd.connections.refused", "{connection}", "Connections closed at admission or to admit another, by listener and reason.");
        _tlsHandshakeFailures = Meter.CreateCounter<long>("mcpd.tls.handshake.failures", "{handshake}", "TLS handshakes that failed or timed out, by listener.");
        _requestsDenied = Meter.CreateCounter<long>("mcpd.requests.denied", "{request}", "Requests refused because the client's role does not allow them, by listener.");
        _configReloads = Meter.CreateCounter<long>("mcpd.config.reloads", "{reload}", "Configuration changes seen at run time, accepted or rejected.");
        _adminAuthFailures = Meter.CreateCounter<long>("mcpd.admin.auth.failures", "{request}", "Admin API requests refused for want of a valid token, by reason.");
        _sessionTakeovers = Meter.CreateCounter<long>("mcpd.sessions.takeovers", "{session}", "Connections of this node that lost their session to a newer connection (a resume or open elsewhere).");
        _redisDuration = Meter.CreateHistogram("mcpd.sessions.redis.duration", "s", "Round trips to the Redis session store, failed ones included.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _redisErrors = Meter.CreateCounter<long>("mcpd.sessions.redis.errors", "{call}", "Calls to the Redis session store that failed, by kind (connection, timeout, server).");
        _forwards = Meter.CreateCounter<long>("mcpd.cluster.forwards", "{call}", "device.call forwarded to the node holding the target session, by node and answer status.");
        _forwardDuration = Meter.CreateHistogram("mcpd.cluster.forward.duration", "s", "Time from forwarding a device.call to another node to its answer, by node.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _announcements = Meter.CreateCounter<long>("mcpd.cluster.announcements", "{announcement}", "This node's announcements in the session store, by result (ok, failed).");
        _methodIndexBySpan = _methodIndex.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The <c>Mcpd</c> meter of this host; observed instruments are created on it too.</summary>
    public Meter Meter { get; }

    /// <summary>Counts a connection of this node that lost its session to a newer connection (docs/sessions.md, "One owner").</summary>
    internal void SessionTakenOver() => _sessionTakeovers.Add(1);

    /// <summary>A round trip to the Redis session store that took <paramref name="elapsed"/>; <paramref name="error"/>: how it failed (connection, timeout, server), or null.</summary>
    internal void RedisCall(TimeSpan elapsed, string? error)
    {
        _redisDuration.Record(elapsed.TotalSeconds);
        if (error is not null)
        {
            _redisErrors.Add(1, new KeyValuePair<string, object?>("kind", error));
        }
    }

    /// <summary>A device.call forwarded to node <paramref name="nodeId"/>, answered <paramref name="status"/> after <paramref name="elapsed"/>.</summary>
    internal void Forwarded(string nodeId, McpStatus status, TimeSpan elapsed)
    {
        var node = new KeyValuePair<string, object?>("node", nodeId);
        _forwards.Add(1, node, new KeyValuePair<string, object?>("status", McpStatusNames.Of(status)));
        _forwardDuration.Record(elapsed.TotalSeconds, node);
    }

    /// <summary>This node announced itself in the session store (<paramref name="ok"/>), or failed to.</summary>
    internal void Announced(bool ok) => _announcements.Add(1, new KeyValuePair<string, object?>("result", ok ? "ok" : "failed"));

    /// <summary>Counts a configuration change: <paramref name="accepted"/> true when it was applied, false when it was rejected.</summary>
    public void ConfigReloaded(bool accepted) => _configReloads.Add(1, new KeyValuePair<string, object?>("result", accepted ? "accepted" : "rejected"));

    /// <summary>
    /// A Modbus request answered with <paramref name="responsePdu"/> (empty: no answer, a broadcast or an ignored
    /// unit), started at <paramref name="startTimestamp"/> and answered at <paramref name="endTimestamp"/>
    /// (<see cref="Stopwatch.GetTimestamp"/>).
    /// </summary>
    internal void ModbusRequest(byte function, ReadOnlySpan<byte> responsePdu, long startTimestamp, long endTimestamp)
    {
        if (!_requests.Enabled && !_modbusDuration.Enabled)
        {
            return;
        }

        // Application Protocol 7: an exception response echoes the function with bit 7 set, then the exception code.
        var exception = !responsePdu.IsEmpty && (responsePdu[0] & ModbusLimits.ExceptionFlag) != 0 && responsePdu.Length > 1 ? responsePdu[1] : 0;
        var slot = responsePdu.IsEmpty ? ModbusNoResponse : exception < ModbusOtherException ? exception : ModbusOtherException;
        _counts.Value!.Modbus[((function & 0x7F) * ModbusStatusSlots) + slot]++;
        if (_modbusDuration.Enabled)
        {
            _modbusDuration.Record(Stopwatch.GetElapsedTime(startTimestamp, endTimestamp).TotalSeconds);
        }
    }

    /// <summary>An MCP request with method tag <paramref name="methodTag"/> (<see cref="MethodTag"/>) answered <paramref name="status"/>.</summary>
    internal void McpRequest(string methodTag, McpStatus status, long startTimestamp, long endTimestamp)
    {
        if (!_requests.Enabled && !_mcpDuration.Enabled)
        {
            return;
        }

        var index = _methodIndex.GetValueOrDefault(methodTag);
        _counts.Value!.Mcp[(index * McpStatusSlots) + Math.Min((int)status, McpStatusSlots - 1)]++;
        if (_mcpDuration.Enabled)
        {
            _mcpDuration.Record(Stopwatch.GetElapsedTime(startTimestamp, endTimestamp).TotalSeconds);
        }
    }

    /// <summary>
    /// The tag of <paramref name="method"/>: its name when it already has a series, or when <paramref name="served"/>
    /// (this node has a target for it) and fewer than <see cref="MaxMethodTags"/> names are known; else
    /// <see cref="OtherMethod"/>, so names made up by clients cannot grow the series without bound.
    /// </summary>
    internal string MethodTag(ReadOnlySpan<char> method, bool served)
    {
        if (_methodIndexBySpan.TryGetValue(method, out var known))
        {
            return _methodByIndex[known];
        }

        // The index 0 is "other": a method name of its own gets 1..MaxMethodTags.
        if (!served || _methodIndex.Count > MaxMethodTags)
        {
            return OtherMethod;
        }

        var name = new string(method);
        lock (_methodByIndex)
        {
            if (_methodIndex.TryGetValue(name, out known))
            {
                return _methodByIndex[known];
            }

            if (_methodIndex.Count > MaxMethodTags)
            {
                return OtherMethod;
            }

            // The name is in its slot before the index is published, so whoever finds the index finds the name.
            var index = _methodIndex.Count;
            _methodByIndex[index] = name;
            _methodIndex[name] = index;
            return name;
        }
    }

    /// <summary>A CRC-framed listener skipped <paramref name="droppedBytes"/> bytes to find the next frame.</summary>
    internal void CrcResynchronised(long droppedBytes)
    {
        _crcResyncs.Add(1);
        _crcDroppedBytes.Add(droppedBytes);
    }

    /// <summary>
    /// A connection of <paramref name="listener"/> refused at admission, or closed to admit another, for
    /// <paramref name="reason"/>: <c>limit</c>, <c>per_address</c>, <c>open_files</c>, <c>evicted</c> or
    /// <c>handshakes</c> (too many TLS handshakes in progress).
    /// </summary>
    internal void ConnectionRefused(string listener, string reason) =>
        _connectionsRefused.Add(1, new KeyValuePair<string, object?>("listener", listener), new KeyValuePair<string, object?>("reason", reason));

    /// <summary>A TLS handshake on <paramref name="listener"/> failed or timed out (no certificate, an untrusted one, an old protocol, silence).</summary>
    internal void TlsHandshakeFailed(string listener) => _tlsHandshakeFailures.Add(1, new KeyValuePair<string, object?>("listener", listener));

    /// <summary>A request on <paramref name="listener"/> refused because the client's role does not allow it.</summary>
    internal void RequestDenied(string listener) => _requestsDenied.Add(1, new KeyValuePair<string, object?>("listener", listener));

    /// <summary>An MCP connection of <paramref name="listener"/> closed for silence (no frame, not even a PING, for 3 heartbeat intervals).</summary>
    internal void HeartbeatTimedOut(string listener) => _heartbeatTimeouts.Add(1, new KeyValuePair<string, object?>("listener", listener));

    /// <summary>
    /// An admin API request refused for <paramref name="reason"/>: <c>missing_token</c>, <c>unknown_token</c> (both
    /// 401) or <c>rate_limited</c> (429, its address failed too often).
    /// </summary>
    internal void AdminAuthenticationFailed(string reason) => _adminAuthFailures.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _counts.Dispose();
    }

    /// <summary>The request counts of every thread, summed, one measurement per series that has counted anything.</summary>
    private IEnumerable<Measurement<long>> ObserveRequests()
    {
        if (_disposed)
        {
            yield break;
        }

        var modbus = new long[128 * ModbusStatusSlots];
        var mcp = new long[(MaxMethodTags + 1) * McpStatusSlots];
        foreach (var counts in _counts.Values)
        {
            for (var i = 0; i < modbus.Length; i++)
            {
                modbus[i] += Volatile.Read(ref counts.Modbus[i]);
            }

            for (var i = 0; i < mcp.Length; i++)
            {
                mcp[i] += Volatile.Read(ref counts.Mcp[i]);
            }
        }

        for (var i = 0; i < modbus.Length; i++)
        {
            if (modbus[i] != 0)
            {
                var slot = i % ModbusStatusSlots;
                var status = slot == ModbusNoResponse ? "no_response" : slot == ModbusOtherException ? "other_exception" : ModbusStatusTags[slot];
                yield return new Measurement<long>(modbus[i], new("protocol", ModbusProtocol), new("function", FunctionTags[i / ModbusStatusSlots]), new("status", status));
            }
        }

        for (var i = 0; i < mcp.Length; i++)
        {
            if (mcp[i] != 0 && _methodByIndex[i / McpStatusSlots] is { } method)
            {
                yield return new Measurement<long>(mcp[i], new("protocol", McpProtocol), new("method", method), new("status", McpStatusNames.Of((McpStatus)(i % McpStatusSlots))));
            }
        }
    }

    /// <summary>One thread's request counts; only that thread writes them.</summary>
    private sealed class RequestCounts
    {
        public long[] Modbus { get; } = new long[128 * ModbusStatusSlots];

        public long[] Mcp { get; } = new long[(MaxMethodTags + 1) * McpStatusSlots];
    }

    private static string ModbusStatusName(int code) => code switch
    {
        0 => "ok",
        _ when Enum.IsDefined((ModbusExceptionCode)code) => SnakeCase().Replace(((ModbusExceptionCode)code).ToString(), "$1_$2").ToLowerInvariant(),
        _ => string.Create(CultureInfo.InvariantCulture, $"exception_0x{code:x2}"),
    };

    [GeneratedRegex("([a-z])([A-Z])")]
    private static partial Regex SnakeCase();
}
