using System.Buffers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Framing;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Hosting;
using Mcpd.Server.Transport;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Mcp;

/// <summary>The MCP listener of the real host over loopback, byte by byte.</summary>
public abstract class McpServerTests(TransportKind transport)
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];

    [Fact]
    public async Task Echo_requests_in_one_segment_are_all_answered_with_their_ids()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);
        var requests = new ArrayBufferWriter<byte>();
        for (uint id = 1; id <= 3; id++)
        {
            McpPayload.WriteRequest(requests, id, McpRequestFlags.None, "sys.echo", NoHeaders, Encoding.UTF8.GetBytes($"body {id}"));
        }

        await socket.SendAsync(requests.WrittenMemory);

        for (uint id = 1; id <= 3; id++)
        {
            var (type, payload) = await ReadFrameAsync(socket);
            Assert.Equal(McpFrameType.Response, type);
            Assert.Equal(McpParseStatus.Ok, McpPayload.ParseResponse(new ReadOnlySequence<byte>(payload), out var responseId, out var status, out _, out var body, out _));
            Assert.Equal((id, McpStatus.Ok, $"body {id}"), (responseId, status, Encoding.UTF8.GetString(body)));
        }
    }

    [Fact]
    public async Task One_way_request_is_acknowledged()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);

        await SendAsync(socket, output => McpPayload.WriteRequest(output, 9, McpRequestFlags.OneWay, "sys.echo", NoHeaders, "x"u8));

        var (type, payload) = await ReadFrameAsync(socket);
        Assert.Equal(McpFrameType.Ack, type);
        Assert.Equal("000000090000", Convert.ToHexString(payload));
    }

    [Fact]
    public async Task Unknown_method_answers_not_found_with_the_trace_id_of_the_request()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);
        const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";

        await SendAsync(socket, output => McpPayload.WriteRequest(output, 5, McpRequestFlags.None, "no.such", [new("traceparent", $"00-{TraceId}-00f067aa0ba902b7-01")], []));

        var body = await ReadResponseAsync(socket, 5, McpStatus.NotFound);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(2, json.RootElement.GetProperty("code").GetInt32());
        Assert.Equal("NOT_FOUND", json.RootElement.GetProperty("status").GetString());
        Assert.Contains("no.such", json.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(TraceId, json.RootElement.GetProperty("traceId").GetString());
        Assert.True(DateTimeOffset.TryParse(json.RootElement.GetProperty("timestamp").GetString(), System.Globalization.CultureInfo.InvariantCulture, out _));
    }

    [Fact]
    public async Task Malformed_request_with_a_readable_id_gets_bad_request_and_the_connection_goes_on()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);

        // id 7, flags 0x80 (reserved bit), method "sys.echo", no headers.
        await socket.SendHexAsync("4D4301000000000F" + "00000007" + "80" + "08" + "7379732E6563686F" + "00");
        var body = await ReadResponseAsync(socket, 7, McpStatus.BadRequest);
        Assert.Contains("reserved bits", Encoding.UTF8.GetString(body), StringComparison.Ordinal);

        await SendAsync(socket, output => McpPayload.WriteRequest(output, 8, McpRequestFlags.None, "sys.echo", NoHeaders, "ok"u8));
        Assert.Equal("ok", Encoding.UTF8.GetString(await ReadResponseAsync(socket, 8, McpStatus.Ok)));
    }

    [Theory]
    [InlineData("474554202F20485454502F312E310D0A", McpStatus.BadRequest)] // an HTTP request on the MCP port
    [InlineData("4D43020300000000", McpStatus.UnsupportedVersion)]
    [InlineData("4D43010000100001", McpStatus.FrameTooLarge)] // 1 MiB + 1 announced; no payload is ever sent
    [InlineData("4D43010000000002" + "0001", McpStatus.BadRequest)] // a request too short to carry an id
    public async Task Broken_frames_get_an_error_frame_and_a_close(string bytes, McpStatus expected)
    {
        await using var server = await StartAsync();
        using var bystander = await server.ConnectRawAsync(server.McpEndPoint);
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);

        await socket.SendHexAsync(bytes);

        var (type, payload) = await ReadFrameAsync(socket);
        Assert.Equal(McpFrameType.Error, type);
        Assert.True(McpPayload.TryParseError(new ReadOnlySequence<byte>(payload), out var status, out var message));
        Assert.Equal(expected, status);
        Assert.NotEmpty(message);
        Assert.True(await socket.IsClosedByServerAsync());
        await SendAsync(bystander, output => McpPayload.WriteRequest(output, 1, McpRequestFlags.None, "sys.echo", NoHeaders, "still here"u8));
        Assert.Equal("still here", Encoding.UTF8.GetString(await ReadResponseAsync(bystander, 1, McpStatus.Ok)));
    }

    [Fact]
    public async Task At_the_in_flight_limit_the_connection_stops_reading_until_a_request_completes()
    {
        var device = new GatedDevice();
        await using var server = await StartWithTwoSlotsAsync(device);
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);
        var requests = new ArrayBufferWriter<byte>();
        McpPayload.WriteRequest(requests, 1, McpRequestFlags.None, "modbus.pdu", [new("unit", "2")], Convert.FromHexString("0300000001"));
        McpPayload.WriteRequest(requests, 2, McpRequestFlags.None, "modbus.pdu", [new("unit", "2")], Convert.FromHexString("0300000002"));
        await socket.SendAsync(requests.WrittenMemory);
        while (device.Started < 2)
        {
            await Task.Delay(10);
        }

        // Both slots are taken: this echo is not even read until one of them completes.
        await SendAsync(socket, output => McpPayload.WriteRequest(output, 3, McpRequestFlags.None, "sys.echo", NoHeaders, "third"u8));
        Assert.True(await socket.StaysSilentAsync(TimeSpan.FromMilliseconds(300)));

        device.Open();
        var answered = new List<uint>();
        for (var i = 0; i < 3; i++)
        {
            var (_, payload) = await ReadFrameAsync(socket);
            McpPayload.ParseResponse(new ReadOnlySequence<byte>(payload), out var id, out _, out _, out _, out _);
            answered.Add(id);
        }

        Assert.Equal([1u, 2u, 3u], answered.Order());
    }

    [Fact]
    public async Task The_in_flight_limit_holds_within_one_read_too()
    {
        var device = new GatedDevice();
        await using var server = await StartWithTwoSlotsAsync(device);
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);
        var requests = new ArrayBufferWriter<byte>();
        for (uint id = 1; id <= 4; id++)
        {
            McpPayload.WriteRequest(requests, id, McpRequestFlags.None, "modbus.pdu", [new("unit", "2")], Convert.FromHexString("0300000001"));
        }

        McpPayload.WriteRequest(requests, 5, McpRequestFlags.None, "sys.echo", NoHeaders, "last"u8);
        await socket.SendAsync(requests.WrittenMemory);
        await Task.Delay(300);

        Assert.Equal(2, device.Started);
        Assert.True(await socket.StaysSilentAsync(TimeSpan.FromMilliseconds(100)));
        device.Open();
        var answered = new List<uint>();
        for (var i = 0; i < 5; i++)
        {
            var (_, payload) = await ReadFrameAsync(socket);
            McpPayload.ParseResponse(new ReadOnlySequence<byte>(payload), out var id, out _, out _, out _, out _);
            answered.Add(id);
        }

        Assert.Equal([1u, 2u, 3u, 4u, 5u], answered.Order());
    }

    [Fact]
    public async Task A_request_at_the_size_limit_is_read_whole_and_answered()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);
        // Payload = id 4 + flags 1 + method 1+8 + headers 1 + body: exactly the 1 MiB limit; the frame is 8 bytes more.
        var body = new byte[(1024 * 1024) - 15];
        new Random(3).NextBytes(body);

        await SendAsync(socket, output => McpPayload.WriteRequest(output, 1, McpRequestFlags.None, "sys.echo", NoHeaders, body));

        Assert.Equal(body, await ReadResponseAsync(socket, 1, McpStatus.Ok));
    }

    [Fact]
    public async Task Ping_is_answered_with_a_pong_carrying_the_same_bytes()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);

        await socket.SendHexAsync("4D43010300000008" + "0102030405060708");

        Assert.Equal("4D43010400000008" + "0102030405060708", await socket.ReceiveHexAsync(16));
    }

    [Fact]
    public async Task A_polling_client_is_never_closed_to_admit_newcomers_while_connections_that_only_ping_are()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["mcp:maxConnections"] = "5" });
        using var poller = await server.ConnectRawAsync(server.McpEndPoint);
        await EchoAsync(poller, 1);
        List<Socket> pingers = [];
        for (var i = 0; i < 4; i++)
        {
            pingers.Add(await server.ConnectRawAsync(server.McpEndPoint));
        }

        // A PING every 100 ms keeps a connection alive (heartbeat) but is no request; a newcomer every 300 ms.
        await Attack.WhilePollingAsync(
            async tick =>
            {
                await pingers.SendHexToEachAsync("4D43010300000000");
                if (tick % 3 == 0)
                {
                    pingers.Add(await server.ConnectRawAsync(server.McpEndPoint));
                }
            },
            polls: 4,
            poll => EchoAsync(poller, (uint)poll + 1));

        Assert.Contains(server.Logs.Lines, l => l.Message.Contains("closed the oldest idle connection", StringComparison.Ordinal));
        foreach (var pinger in pingers)
        {
            pinger.Dispose();
        }
    }

    [Fact]
    public async Task Modbus_pdu_runs_on_the_unit_exactly_as_over_Modbus_TCP()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);

        await SendAsync(socket, output => McpPayload.WriteRequest(output, 1, McpRequestFlags.None, "modbus.pdu", [new("unit", "1")], Convert.FromHexString("0300000002")));
        Assert.Equal("030400640055", Convert.ToHexString(await ReadResponseAsync(socket, 1, McpStatus.Ok)));

        await SendAsync(socket, output => McpPayload.WriteRequest(output, 2, McpRequestFlags.None, "modbus.pdu", [new("unit", "1")], Convert.FromHexString("03270F0002")));
        Assert.Equal("8302", Convert.ToHexString(await ReadResponseAsync(socket, 2, McpStatus.Ok)));

        await SendAsync(socket, output => McpPayload.WriteRequest(output, 3, McpRequestFlags.None, "modbus.pdu", [new("unit", "9")], Convert.FromHexString("0300000001")));
        Assert.Equal("830B", Convert.ToHexString(await ReadResponseAsync(socket, 3, McpStatus.Ok)));

        await SendAsync(socket, output => McpPayload.WriteRequest(output, 4, McpRequestFlags.None, "modbus.pdu", NoHeaders, Convert.FromHexString("0300000001")));
        Assert.Contains("'unit' or 'device' header", Encoding.UTF8.GetString(await ReadResponseAsync(socket, 4, McpStatus.BadRequest)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sys_info_reports_name_version_uptime_and_connections()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync(server.McpEndPoint);

        await SendAsync(socket, output => McpPayload.WriteRequest(output, 1, McpRequestFlags.None, "sys.info", NoHeaders, []));

        using var json = JsonDocument.Parse(await ReadResponseAsync(socket, 1, McpStatus.Ok));
        Assert.Equal("mcpd", json.RootElement.GetProperty("name").GetString());
        Assert.Equal(1, json.RootElement.GetProperty("connections").GetProperty("mcp").GetInt32());
        Assert.True(json.RootElement.GetProperty("uptimeSeconds").GetDouble() >= 0);
    }

    [Fact]
    public async Task Crc_listener_skips_noise_and_damaged_frames_and_answers_intact_ones()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["mcp:crcPort"] = "0" });
        using var socket = await server.ConnectRawAsync(server.McpCrcEndPoint);
        var damaged = Framed(output => McpPayload.WriteRequest(output, 1, McpRequestFlags.None, "sys.echo", NoHeaders, "lost"u8));
        damaged[10] ^= 0x10;
        var intact = Framed(output => McpPayload.WriteRequest(output, 2, McpRequestFlags.None, "sys.echo", NoHeaders, "kept"u8));

        await socket.SendAsync(Convert.FromHexString("00FF5A0013").Concat(damaged).Concat(intact).ToArray());

        var expected = Framed(output => McpPayload.WriteResponse(output, 2, McpStatus.Ok, NoHeaders, new ReadOnlySequence<byte>("kept"u8.ToArray())));
        Assert.Equal(Convert.ToHexString(expected), await socket.ReceiveHexAsync(expected.Length));
        Assert.True(await socket.StaysSilentAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task Crc_listener_closes_a_connection_that_sends_only_noise_beyond_the_limit_and_keeps_one_that_recovers()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["mcp:crcPort"] = "0", ["mcp:maxCrcNoiseBytes"] = "1000" });
        using var noisy = await server.ConnectRawAsync(server.McpCrcEndPoint);
        using var recovering = await server.ConnectRawAsync(server.McpCrcEndPoint);
        var echo = Framed(output => McpPayload.WriteRequest(output, 7, McpRequestFlags.None, "sys.echo", NoHeaders, "ok"u8));

        // 900 bytes of noise, a good frame (the count starts again), 900 more: never over the limit.
        await recovering.SendAsync(Enumerable.Repeat((byte)0x5A, 900).Concat(echo).Concat(Enumerable.Repeat((byte)0x00, 900)).ToArray());
        await noisy.SendAsync(Enumerable.Repeat((byte)0x5A, 1500).ToArray());

        var answer = Framed(output => McpPayload.WriteResponse(output, 7, McpStatus.Ok, NoHeaders, new ReadOnlySequence<byte>("ok"u8.ToArray())));
        Assert.Equal(Convert.ToHexString(answer), await recovering.ReceiveHexAsync(answer.Length));
        Assert.True(await noisy.IsClosedByServerAsync());
        await server.Logs.WaitForAsync("in vain; mcp.maxCrcNoiseBytes is 1000)");
        Assert.False(await recovering.IsClosedByServerAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task Crc_listener_counts_checksums_computed_in_vain_as_noise_so_plausible_frame_starts_cannot_multiply_the_work()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["mcp:crcPort"] = "0" });
        using var crafted = await server.ConnectRawAsync(server.McpCrcEndPoint);

        // Every 6 bytes a start byte announcing 65,535 bytes and the MCP magic and version: each passes the cheap checks
        // and costs a CRC over 64 KiB when it fails. Counted as bytes checksummed in vain, the second one is past the
        // 64 KiB budget; counted as one dropped byte each, 120 KB would never reach it (and cost seconds of CPU).
        byte[] plausibleStart = [0x5A, 0xFF, 0xFF, 0x4D, 0x43, 0x01];
        try
        {
            await crafted.SendAsync(Enumerable.Repeat(plausibleStart, 20_000).SelectMany(b => b).ToArray());
        }
        catch (SocketException)
        {
            // Closed while sending: what the test expects.
        }

        await server.Logs.WaitForAsync("in vain; mcp.maxCrcNoiseBytes is 65536)");
        Assert.True(await crafted.IsClosedByServerAsync());
    }

    [Fact]
    public async Task Crc_listener_gives_up_a_frame_whose_length_was_damaged_upwards_after_crc_frame_timeout_and_answers_the_frames_behind()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["mcp:crcPort"] = "0", ["mcp:crcFrameTimeout"] = "00:00:00.3" });
        using var socket = await server.ConnectRawAsync(server.McpCrcEndPoint);
        var damaged = Framed(output => McpPayload.WriteRequest(output, 1, McpRequestFlags.None, "sys.echo", NoHeaders, "lost"u8));
        damaged[1] ^= 0x01; // the length's high byte: 256 bytes more announced than sent
        var intact = Framed(output => McpPayload.WriteRequest(output, 2, McpRequestFlags.None, "sys.echo", NoHeaders, "kept"u8));

        // Nothing follows: without the time bound the intact frame waits inside the damaged one for 256 more bytes.
        await socket.SendAsync(damaged.Concat(intact).ToArray());

        var expected = Framed(output => McpPayload.WriteResponse(output, 2, McpStatus.Ok, NoHeaders, new ReadOnlySequence<byte>("kept"u8.ToArray())));
        Assert.Equal(Convert.ToHexString(expected), await socket.ReceiveHexAsync(expected.Length));
    }

    [Fact]
    public async Task An_answer_larger_than_one_crc_frame_is_answered_frame_too_large_and_the_connection_goes_on()
    {
        await using var server = await StartAsync(
            new Dictionary<string, string?> { ["mcp:crcPort"] = "0" },
            builder => builder.Services.AddMcpMethod("report.full", (_, _) => ValueTask.FromResult(McpReply.Ok(new byte[70_000]))));
        await using var client = await McpClient.ConnectAsync("127.0.0.1", server.McpCrcEndPoint.Port, new McpClientOptions { Framing = McpFraming.Crc });

        // A handler's answer of 70,000 bytes: one CRC frame carries at most 65,535.
        var tooLarge = await client.CallAsync("report.full");
        var next = await client.CallAsync("sys.echo", "still here"u8.ToArray());

        Assert.Equal(McpStatus.FrameTooLarge, tooLarge.Status);
        Assert.Contains("larger than one CRC frame carries", tooLarge.BodyText, StringComparison.Ordinal);
        Assert.Equal("still here", next.BodyText);
        Assert.DoesNotContain(server.Logs.Lines, line => line.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [Fact]
    public async Task Silent_connection_is_closed_after_three_heartbeat_intervals()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await StartAsync(
            new Dictionary<string, string?> { ["mcp:heartbeatInterval"] = "00:00:10" },
            builder => builder.Services.AddSingleton<TimeProvider>(time));
        using var silent = await server.ConnectRawAsync(server.McpEndPoint);
        using var pinging = await server.ConnectRawAsync(server.McpEndPoint);

        for (var second = 0; second < 35; second++)
        {
            await pinging.SendHexAsync("4D43010300000000");
            await pinging.ReceiveHexAsync(8);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.True(await silent.IsClosedByServerAsync());
        await server.Logs.WaitForAsync("idle for more than 00:00:30");
        Assert.False(await pinging.IsClosedByServerAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task A_connection_trickling_a_frame_that_never_completes_is_idle_and_closed()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await StartAsync(
            new Dictionary<string, string?> { ["mcp:heartbeatInterval"] = "00:00:10" },
            builder => builder.Services.AddSingleton<TimeProvider>(time));
        using var trickling = await server.ConnectRawAsync(server.McpEndPoint);
        using var pinging = await server.ConnectRawAsync(server.McpEndPoint);
        // A header announcing 1,000 bytes of payload, then one byte of it per second: bytes, but never a frame.
        await trickling.SendHexAsync("4D430100000003E8");
        var trickleClosed = false;

        for (var second = 0; second < 35; second++)
        {
            try
            {
                await trickling.SendHexAsync(trickleClosed ? "" : "00");
            }
            catch (SocketException)
            {
                // Closed by the server as idle: the assertion below says so.
                trickleClosed = true;
            }

            await pinging.SendHexAsync("4D43010300000000");
            await pinging.ReceiveHexAsync(8);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.True(trickleClosed || await trickling.IsClosedByServerAsync());
        Assert.False(await pinging.IsClosedByServerAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task A_flood_of_broken_frames_writes_at_most_the_log_budget_then_one_line_with_the_count()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await StartAsync(configure: builder => builder.Services.AddSingleton<TimeProvider>(time));

        for (var i = 0; i < 50; i++)
        {
            using var socket = await server.ConnectRawAsync(server.McpEndPoint);
            await socket.SendHexAsync("DEADBEEF00000000");
            Assert.True(await socket.IsClosedByServerAsync());
        }

        time.Advance(TimeSpan.FromSeconds(11));
        using (var last = await server.ConnectRawAsync(server.McpEndPoint))
        {
            await last.SendHexAsync("DEADBEEF00000000");
            Assert.True(await last.IsClosedByServerAsync());
        }

        await server.Logs.WaitForAsync("30 more 'refused connection or rejected frame' lines were suppressed");
        Assert.Equal(21, server.Logs.Lines.Count(line => line.Message.Contains("does not start with the magic", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Shutdown_says_goodbye_with_an_error_frame()
    {
        var server = await StartAsync();
        await using (server)
        {
            using var socket = await server.ConnectRawAsync(server.McpEndPoint);
            await SendAsync(socket, output => McpPayload.WriteRequest(output, 1, McpRequestFlags.None, "sys.echo", NoHeaders, []));
            await ReadResponseAsync(socket, 1, McpStatus.Ok);

            await server.StopAsync();

            var (type, payload) = await ReadFrameAsync(socket);
            Assert.Equal(McpFrameType.Error, type);
            Assert.True(McpPayload.TryParseError(new ReadOnlySequence<byte>(payload), out var status, out _));
            Assert.Equal(McpStatus.ShuttingDown, status);
        }
    }

    /// <summary>A server with an in-flight limit of 2 and <paramref name="device"/> as unit 2.</summary>
    private Task<McpdTestServer> StartWithTwoSlotsAsync(GatedDevice device) =>
        StartAsync(
            new Dictionary<string, string?> { ["mcp:maxInFlightPerConnection"] = "2" },
            builder => builder.Services.AddModbusDevice(2, device));

    private static byte[] Framed(Action<ArrayBufferWriter<byte>> write)
    {
        var frame = new ArrayBufferWriter<byte>();
        write(frame);
        var framed = new ArrayBufferWriter<byte>();
        CrcFrameCodec.Encode(frame.WrittenSpan, framed);
        return framed.WrittenSpan.ToArray();
    }

    internal static async Task SendAsync(Socket socket, Action<ArrayBufferWriter<byte>> write)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        await socket.SendAsync(output.WrittenMemory);
    }

    private static async Task EchoAsync(Socket socket, uint id)
    {
        await SendAsync(socket, output => McpPayload.WriteRequest(output, id, McpRequestFlags.None, "sys.echo", NoHeaders, "poll"u8));
        Assert.Equal("poll"u8.ToArray(), await ReadResponseAsync(socket, id, McpStatus.Ok));
    }

    internal static async Task<byte[]> ReadResponseAsync(Socket socket, uint id, McpStatus expected)
    {
        var (type, payload) = await ReadFrameAsync(socket);
        Assert.Equal(McpFrameType.Response, type);
        Assert.Equal(McpParseStatus.Ok, McpPayload.ParseResponse(new ReadOnlySequence<byte>(payload), out var responseId, out var status, out _, out var body, out _));
        Assert.Equal((id, expected), (responseId, status));
        return body.ToArray();
    }

    private static async Task<(McpFrameType Type, byte[] Payload)> ReadFrameAsync(Socket socket)
    {
        var header = McpFrameHeader.Read(Convert.FromHexString(await socket.ReceiveHexAsync(McpFrameHeader.Length)));
        Assert.Equal(McpFrameHeader.ExpectedMagic, header.Magic);
        var payload = header.PayloadLength == 0 ? [] : Convert.FromHexString(await socket.ReceiveHexAsync((int)header.PayloadLength));
        return ((McpFrameType)header.Type, payload);
    }

    private Task<McpdTestServer> StartAsync(Dictionary<string, string?>? settings = null, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null) =>
        McpdTestServer.StartAsync(McpdTestServer.WithTransport(transport, settings), configure);
}

/// <summary>The tests above over mcpd's epoll transport.</summary>
public sealed class McpServerTestsOnEpoll() : McpServerTests(TransportKind.Epoll);

/// <summary>The tests above over Kestrel's socket transport.</summary>
public sealed class McpServerTestsOnSockets() : McpServerTests(TransportKind.Sockets);
