using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Sessions;

namespace Mcpd.Benchmarks;

/// <summary>
/// <c>session.get</c> on the in-memory store, as McpDispatcher's fast path runs it: decode the frame, parse the
/// request, find the <c>session</c> and <c>key</c> headers, decode them on the stack, read the value by span and
/// write it as the RESP body. Must allocate nothing (the value is stored, not copied).
/// </summary>
[MemoryDiagnoser]
public class SessionGetBenchmarks
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private readonly McpChannelCodec _channel = McpChannelCodec.For(McpFraming.Plain, 1024 * 1024);
    private InMemorySessionStore _store = null!;
    private ReadOnlySequence<byte> _request;

    [GlobalSetup]
    public void Setup()
    {
        _store = new InMemorySessionStore(new SessionsOptions { MaxSessions = 1000, SweepInterval = TimeSpan.FromMinutes(1) }, TimeProvider.System);
        var session = new SessionInfo(SessionIds.New(), "bench", TimeSpan.FromMinutes(30), DateTimeOffset.UtcNow);
        _store.CreateAsync(session, default).AsTask().GetAwaiter().GetResult();
        _store.SetValuesAsync(session.Id, [new("site", "hall-3, line 4")], epoch: 0, default).AsTask().GetAwaiter().GetResult();
        var request = new ArrayBufferWriter<byte>();
        McpPayload.WriteRequest(request, 1, McpRequestFlags.None, "session.get", [new("session", session.Id), new("key", "site")], []);
        _request = new ReadOnlySequence<byte>(request.WrittenMemory.ToArray());
        if (SessionGet_InMemory() != 8 + 4 + 2 + 1 + "hall-3, line 4".Length)
        {
            throw new InvalidOperationException("The benchmark did not read the value.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _store.Dispose();

    [Benchmark]
    public int SessionGet_InMemory()
    {
        _output.ResetWrittenCount();
        _channel.Decode(_request, out var frame, out _, out _, out _);
        McpPayload.ParseRequest(frame.Payload, out var request, out _, out _);
        request.Headers.TryFind("session"u8, out var sessionBytes);
        request.Headers.TryFind("key"u8, out var keyBytes);
        Span<char> sessionId = stackalloc char[SessionIds.Length];
        Span<char> key = stackalloc char[byte.MaxValue];
        sessionId = sessionId[..Encoding.UTF8.GetChars(sessionBytes, sessionId)];
        key = key[..Encoding.UTF8.GetChars(keyBytes, key)];
        _store.TryGetValueNow(sessionId, key, epoch: 0, out var read);
        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(read.Value!.Length));
        var length = Encoding.UTF8.GetBytes(read.Value, rented);
        McpPayload.WriteResponse(_channel.BeginFrame(_output), request.Id, McpStatus.Ok, NoHeaders, new ReadOnlySequence<byte>(rented, 0, length));
        _channel.TryEndFrame(_output);
        ArrayPool<byte>.Shared.Return(rented);
        return _output.WrittenCount;
    }
}
