using System.Buffers;
using BenchmarkDotNet.Attributes;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Benchmarks;

/// <summary>
/// The MCP hot path of <c>sys.echo</c> with a 16-byte body, as McpConnection runs it: decode the frame, parse the
/// request, match the method, write the RESP frame. Must allocate nothing.
/// </summary>
[MemoryDiagnoser]
public class McpRequestBenchmarks
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private ReadOnlySequence<byte> _request;

    [GlobalSetup]
    public void Setup()
    {
        var request = new ArrayBufferWriter<byte>();
        McpPayload.WriteRequest(request, 1, McpRequestFlags.None, "sys.echo", NoHeaders, new byte[16]);
        _request = new ReadOnlySequence<byte>(request.WrittenMemory.ToArray());
        if (DecodeParseEncode_SysEcho_16ByteBody() != 8 + 4 + 2 + 1 + 16)
        {
            throw new InvalidOperationException("The benchmark did not produce the expected response.");
        }
    }

    [Benchmark]
    public int DecodeParseEncode_SysEcho_16ByteBody()
    {
        _output.ResetWrittenCount();
        McpFrameCodec.Decode(_request, 1024 * 1024, out var frame, out _, out _);
        McpPayload.ParseRequest(frame.Payload, out var request, out _, out _);
        if (request.Method.FirstSpan.SequenceEqual("sys.echo"u8))
        {
            McpPayload.WriteResponse(_output, request.Id, McpStatus.Ok, NoHeaders, request.Body);
        }

        return _output.WrittenCount;
    }
}
