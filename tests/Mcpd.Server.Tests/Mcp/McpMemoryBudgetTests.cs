using System.Buffers;
using System.Net.Sockets;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Mcp;
using Mcpd.Server.Transport;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Mcpd.Server.Tests.Mcp;

/// <summary>
/// Peers that start large frames and never finish them hold at most <c>mcp.maxIncompleteFrameBytes</c> together: the
/// one that would exceed it is answered ERROR OVERLOADED and closed, the others are served, and the budget is given
/// back when frames complete or connections close. Bodies of requests still running share <c>mcp.maxRunningRequestBytes</c>.
/// </summary>
public abstract class McpMemoryBudgetTests(TransportKind transport)
{
    private const int Budget = 1536 * 1024;

    [Fact]
    public async Task Incomplete_large_frames_share_one_budget_and_the_one_past_it_is_refused_overloaded()
    {
        await using var server = await McpdTestServer.StartAsync(McpdTestServer.WithTransport(transport, new Dictionary<string, string?>
        {
            ["mcp:maxIncompleteFrameBytes"] = Budget.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }));
        var budget = server.Services.GetRequiredService<IncompleteFrameBudget>();

        using var holder = await server.ConnectRawAsync(server.McpEndPoint);
        await holder.SendAsync(Announce(1024 * 1024).Concat(new byte[1000 * 1024]).ToArray());
        await Eventually.HoldsAsync(() => budget.InUse >= 1000 * 1024, TimeSpan.FromSeconds(5));

        using var intruder = await server.ConnectRawAsync(server.McpEndPoint);
        await intruder.SendAsync(Announce(1024 * 1024).Concat(new byte[600 * 1024]).ToArray());
        var header = McpFrameHeader.Read(Convert.FromHexString(await intruder.ReceiveHexAsync(McpFrameHeader.Length)));
        Assert.Equal((byte)McpFrameType.Error, header.Type);
        var payload = Convert.FromHexString(await intruder.ReceiveHexAsync((int)header.PayloadLength));
        Assert.True(McpPayload.TryParseError(new ReadOnlySequence<byte>(payload), out var status, out var message));
        Assert.Equal(McpStatus.Overloaded, status);
        Assert.Contains("mcp.maxIncompleteFrameBytes", message, StringComparison.Ordinal);
        Assert.True(await intruder.IsClosedByServerAsync());

        // The holder finishes its frame (a REQ of sys.echo), is answered, and its share is given back.
        using var client = await server.ConnectRawAsync(server.McpEndPoint);
        await McpServerTests.SendAsync(client, output => McpPayload.WriteRequest(output, 3, McpRequestFlags.None, "sys.echo", [], "still served"u8));
        await McpServerTests.ReadResponseAsync(client, 3, McpStatus.Ok);
        holder.Dispose();
        await Eventually.HoldsAsync(() => budget.InUse == 0, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_large_frame_that_completes_is_answered_and_gives_its_share_back()
    {
        await using var server = await McpdTestServer.StartAsync(McpdTestServer.WithTransport(transport));
        var budget = server.Services.GetRequiredService<IncompleteFrameBudget>();
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);
        var body = new byte[900 * 1024];
        Random.Shared.NextBytes(body);
        var request = new ArrayBufferWriter<byte>();
        McpPayload.WriteRequest(request, 5, McpRequestFlags.None, "sys.echo", [], body);

        // Sent in pieces, so the server holds it incomplete for a while.
        var frame = request.WrittenMemory;
        for (var offset = 0; offset < frame.Length; offset += 128 * 1024)
        {
            await socket.SendAsync(frame[offset..Math.Min(frame.Length, offset + 128 * 1024)], SocketFlags.None);
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Equal(body, await McpServerTests.ReadResponseAsync(socket, 5, McpStatus.Ok));
        Assert.Equal(0, budget.InUse);
        Assert.True(budget.PeakSinceTrim > IncompleteFrameBudget.Threshold);
    }

    [Fact]
    public async Task Bodies_of_requests_still_running_share_one_budget_and_the_one_past_it_is_answered_overloaded()
    {
        await using var server = await McpdTestServer.StartAsync(McpdTestServer.WithTransport(transport, new Dictionary<string, string?>
        {
            ["mcp:maxPayloadLength"] = "200000",
            ["mcp:maxRunningRequestBytes"] = "400000",
        }));
        var budget = server.Services.GetRequiredService<RunningRequestBudget>();
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);
        var body = new byte[150_000];

        // Two slow requests hold 300,000 bytes (answered 400 ms apart, so in order); the third would pass 400,000 and is
        // refused at once, before it runs.
        for (uint id = 1; id <= 3; id++)
        {
            var delay = (id * 400).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await McpServerTests.SendAsync(socket, output => McpPayload.WriteRequest(output, id, McpRequestFlags.None, "sys.delay", [new("delay-ms", delay)], body));
        }

        var refused = await McpServerTests.ReadResponseAsync(socket, 3, McpStatus.Overloaded);
        Assert.Contains("mcp.maxRunningRequestBytes", System.Text.Encoding.UTF8.GetString(refused), StringComparison.Ordinal);
        Assert.Equal(body, await McpServerTests.ReadResponseAsync(socket, 1, McpStatus.Ok));
        Assert.Equal(body, await McpServerTests.ReadResponseAsync(socket, 2, McpStatus.Ok));
        await Eventually.HoldsAsync(() => budget.InUse == 0, TimeSpan.FromSeconds(5));

        // Given back: the same request runs now.
        await McpServerTests.SendAsync(socket, output => McpPayload.WriteRequest(output, 4, McpRequestFlags.None, "sys.delay", [new("delay-ms", "0")], body));
        Assert.Equal(body, await McpServerTests.ReadResponseAsync(socket, 4, McpStatus.Ok));
    }

    /// <summary>The 8-byte header of a REQ frame announcing <paramref name="payloadLength"/> bytes (docs/protocol.md, "Frame").</summary>
    private static byte[] Announce(int payloadLength)
    {
        var header = new byte[McpFrameHeader.Length];
        McpFrameHeader.For(McpFrameType.Request, payloadLength).Write(header);
        return header;
    }
}

/// <summary>The tests above over mcpd's epoll transport.</summary>
public sealed class McpMemoryBudgetTestsOnEpoll() : McpMemoryBudgetTests(TransportKind.Epoll);

/// <summary>The tests above over Kestrel's socket transport.</summary>
public sealed class McpMemoryBudgetTestsOnSockets() : McpMemoryBudgetTests(TransportKind.Sockets);
