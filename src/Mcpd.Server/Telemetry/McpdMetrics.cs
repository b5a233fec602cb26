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
/// observed ones (connections, sessions, lanes, upstreams) are <see cref="McpdObservedMetrics"/>. Recording a request
/// allocates nothing: tag values come from tables built once, tags travel in a <see cref="TagList"/> (a struct), and
/// latency is measured between two <see cref="Stopwatch"/> timestamps.
/// </summary>
public sealed partial class McpdMetrics
{
    /// <summary>The meter's name, as exporters and listeners select it.</summary>
    public const string MeterName = "Mcpd";

    /// <summary>Method names that keep a series of their own; later new names are counted as <see cref="OtherMethod"/>.</summary>
    internal const int MaxMethodTags = 100;

    internal const string OtherMethod = "other";

    private const string ModbusProtocol = "modbus";
    private const string McpProtocol = "mcp";

    /// <summary>Latency buckets in seconds: 50 µs (a simulated register read) to 10 s (a slow upstream timing out).</summary>
    private static readonly double[] LatencyBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>"0x03" for every function code, so a request's tags never format a number.</summary>
    private static readonly string[] FunctionTags = [.. Enumerable.Range(0, 256).Select(code => $"0x{code:x2}")];

    /// <summary>"ok" at 0, then the exception names of Application Protocol 7 in snake case ("illegal_data_address").</summary>
    private static readonly string[] ModbusStatusTags = [.. Enumerable.Range(0, 256).Select(ModbusStatusName)];

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _crcResyncs;
    private readonly Counter<long> _crcDroppedBytes;
    private readonly Counter<long> _heartbeatTimeouts;
    private readonly Counter<long> _configReloads;
    private readonly ConcurrentDictionary<string, string> _methodTags = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _methodTagsBySpan;

    /// <summary>Creates the instruments on a meter made by <paramref name="meters"/> (one per host).</summary>
    public McpdMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        Meter = meters.Create(MeterName);
        _requests = Meter.CreateCounter<long>("mcpd.requests", "{request}", "Requests answered, by protocol, function or method, and status.");
        _duration = Meter.CreateHistogram("mcpd.request.duration", "s", "Time from reading a request to writing its answer.", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _crcResyncs = Meter.CreateCounter<long>("mcpd.mcp.crc.resyncs", "{resync}", "Times a CRC-framed MCP listener skipped bytes to find the next 0x5A frame.");
        _crcDroppedBytes = Meter.CreateCounter<long>("mcpd.mcp.crc.dropped", "By", "Bytes skipped while resynchronising CRC-framed MCP input.");
        _heartbeatTimeouts = Meter.CreateCounter<long>("mcpd.mcp.heartbeat.timeouts", "{connection}", "MCP connections closed after 3 heartbeat intervals of silence.");
        _configReloads = Meter.CreateCounter<long>("mcpd.config.reloads", "{reload}", "Configuration changes seen at run time, accepted or rejected.");
        _methodTagsBySpan = _methodTags.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The <c>Mcpd</c> meter of this host; observed instruments are created on it too.</summary>
    public Meter Meter { get; }

    /// <summary>Counts a configuration change: <paramref name="accepted"/> true when it was applied, false when it was rejected.</summary>
    public void ConfigReloaded(bool accepted) => _configReloads.Add(1, new KeyValuePair<string, object?>("result", accepted ? "accepted" : "rejected"));

    /// <summary>
    /// A Modbus request answered with <paramref name="responsePdu"/> (empty: no answer, a broadcast or an ignored
    /// unit), started at <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).
    /// </summary>
    internal void ModbusRequest(byte function, ReadOnlySpan<byte> responsePdu, long startTimestamp)
    {
        if (!_requests.Enabled && !_duration.Enabled)
        {
            return;
        }

        // Application Protocol 7: an exception response echoes the function with bit 7 set, then the exception code.
        var status = responsePdu.IsEmpty ? "no_response"
            : (responsePdu[0] & ModbusLimits.ExceptionFlag) != 0 && responsePdu.Length > 1 ? ModbusStatusTags[responsePdu[1]]
            : ModbusStatusTags[0];
        var tags = new TagList { { "protocol", ModbusProtocol }, { "function", FunctionTags[function & 0x7F] }, { "status", status } };
        Record(tags, startTimestamp);
    }

    /// <summary>An MCP request with method tag <paramref name="methodTag"/> (<see cref="MethodTag"/>) answered <paramref name="status"/>.</summary>
    internal void McpRequest(string methodTag, McpStatus status, long startTimestamp)
    {
        if (!_requests.Enabled && !_duration.Enabled)
        {
            return;
        }

        var tags = new TagList { { "protocol", McpProtocol }, { "method", methodTag }, { "status", McpStatusNames.Of(status) } };
        Record(tags, startTimestamp);
    }

    /// <summary>
    /// The tag of <paramref name="method"/>: its name when it already has a series, or when <paramref name="served"/>
    /// (this node has a target for it) and fewer than <see cref="MaxMethodTags"/> names are known; else
    /// <see cref="OtherMethod"/>, so names made up by clients cannot grow the series without bound.
    /// </summary>
    internal string MethodTag(ReadOnlySpan<char> method, bool served)
    {
        if (_methodTagsBySpan.TryGetValue(method, out var tag))
        {
            return tag;
        }

        if (!served || _methodTags.Count >= MaxMethodTags)
        {
            return OtherMethod;
        }

        var name = new string(method);
        return _methodTags.GetOrAdd(name, name);
    }

    /// <summary>A CRC-framed listener skipped <paramref name="droppedBytes"/> bytes to find the next frame.</summary>
    internal void CrcResynchronised(long droppedBytes)
    {
        _crcResyncs.Add(1);
        _crcDroppedBytes.Add(droppedBytes);
    }

    /// <summary>An MCP connection of <paramref name="listener"/> closed for silence (no frame, not even a PING, for 3 heartbeat intervals).</summary>
    internal void HeartbeatTimedOut(string listener) => _heartbeatTimeouts.Add(1, new KeyValuePair<string, object?>("listener", listener));

    private void Record(in TagList tags, long startTimestamp)
    {
        _requests.Add(1, tags);
        if (_duration.Enabled)
        {
            _duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tags);
        }
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
