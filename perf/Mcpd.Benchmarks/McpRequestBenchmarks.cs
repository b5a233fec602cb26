using System.Buffers;
using System.Diagnostics;
using System.Text;
using BenchmarkDotNet.Attributes;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Telemetry;

namespace Mcpd.Benchmarks;

/// <summary>
/// The MCP hot path of <c>sys.echo</c> with a 16-byte body, as McpConnection runs it through its channel codec:
/// decode the frame, parse the request, match the method, write the RESP frame, record the request in
/// <see cref="McpdMetrics"/> with <see cref="Listener"/> listening. Must allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class McpRequestBenchmarks
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private readonly McpChannelCodec _channel = McpChannelCodec.For(McpFraming.Plain, 1024 * 1024);
    private ReadOnlySequence<byte> _request;
    private MetricsListening _metrics = null!;

    /// <summary>Who listens to the <c>Mcpd</c> meter.</summary>
    [Params(MetricsListener.None, MetricsListener.MeterListener, MetricsListener.OpenTelemetry)]
    public MetricsListener Listener { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _metrics = new MetricsListening(Listener);
        var request = new ArrayBufferWriter<byte>();
        McpPayload.WriteRequest(request, 1, McpRequestFlags.None, "sys.echo", NoHeaders, new byte[16]);
        _request = new ReadOnlySequence<byte>(request.WrittenMemory.ToArray());
        if (DecodeParseEncode_SysEcho_16ByteBody() != 8 + 4 + 2 + 1 + 16)
        {
            throw new InvalidOperationException("The benchmark did not produce the expected response.");
        }

        _metrics.EnsureListened();
    }

    [GlobalCleanup]
    public void Cleanup() => _metrics.Dispose();

    [Benchmark]
    public int DecodeParseEncode_SysEcho_16ByteBody()
    {
        var started = Stopwatch.GetTimestamp();
        _output.ResetWrittenCount();
        _channel.Decode(_request, out var frame, out _, out _, out _);
        McpPayload.ParseRequest(frame.Payload, out var request, out _, out _);
        Span<char> methodChars = stackalloc char[byte.MaxValue];
        ReadOnlySpan<char> method = methodChars[..Encoding.UTF8.GetChars(request.Method.FirstSpan, methodChars)];
        if (method is "sys.echo")
        {
            McpPayload.WriteResponse(_channel.BeginFrame(_output), request.Id, McpStatus.Ok, NoHeaders, request.Body);
            _channel.TryEndFrame(_output);
            _metrics.Metrics.McpRequest(_metrics.Metrics.MethodTag(method, served: true), McpStatus.Ok, started, Stopwatch.GetTimestamp());
        }

        return _output.WrittenCount;
    }
}
