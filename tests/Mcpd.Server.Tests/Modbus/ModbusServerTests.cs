using System.Net.Sockets;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Transport;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Modbus;

/// <summary>The real host over loopback: framing, pipelining, unit ids and bad input, seen from a client's socket.</summary>
public abstract class ModbusServerTests(TransportKind transport)
{
    [Fact]
    public async Task Seed_table_reads_100_and_85()
    {
        await using var server = await StartAsync();
        await using var client = await server.ConnectClientAsync();

        Assert.Equal([100, 85], await client.ReadHoldingRegistersAsync(1, 0, 2));
    }

    [Fact]
    public async Task Reading_past_the_end_answers_0x83_exception_02()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync();

        await socket.SendHexAsync("0001000000060103270F0002");

        Assert.Equal("000100000003018302", await socket.ReceiveHexAsync(9));
    }

    [Fact]
    public async Task Several_requests_in_one_segment_are_all_answered_in_order()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync();

        await socket.SendHexAsync("000A00000006010300000001" + "000B00000006010300010001" + "000C000000060103FFFF0001");

        Assert.Equal("000A0000000501030200 64 000B0000000501030200 55 000C000000030183 02".Replace(" ", "", StringComparison.Ordinal),
            await socket.ReceiveHexAsync(11 + 11 + 9));
    }

    [Fact]
    public async Task Request_sent_byte_by_byte_is_answered_once_complete()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync();
        var request = Convert.FromHexString("1234000000060103000000020102");

        foreach (var b in request[..12])
        {
            await socket.SendAsync(new[] { b });
            await Task.Delay(5);
        }

        Assert.Equal("12340000000701030400640055", await socket.ReceiveHexAsync(13));
        // The two stray bytes are the start of the next ADU: nothing is answered for them yet.
        await socket.SendAsync(request[12..]);
        Assert.True(await socket.StaysSilentAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task Foreign_protocol_id_gets_no_answer_and_the_connection_stays_usable()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync();

        await socket.SendHexAsync("000100010006010300000001");
        Assert.True(await socket.StaysSilentAsync(TimeSpan.FromMilliseconds(300)));

        await socket.SendHexAsync("000200000006010300000001");
        Assert.Equal("0002000000050103020064", await socket.ReceiveHexAsync(11));
    }

    [Fact]
    public async Task Impossible_length_closes_only_that_connection_and_says_why()
    {
        await using var server = await StartAsync();
        using var bystander = await server.ConnectRawAsync();
        using var offender = await server.ConnectRawAsync();

        await offender.SendHexAsync("00010000010001030000000A");

        Assert.True(await offender.IsClosedByServerAsync());
        var line = await server.Logs.WaitForAsync("MBAP length 256 is outside 2..254");
        Assert.Contains("closing the connection", line.Message, StringComparison.Ordinal);
        await bystander.SendHexAsync("000100000006010300000001");
        Assert.Equal("0001000000050103020064", await bystander.ReceiveHexAsync(11));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(255)]
    public async Task Unit_0_and_255_reach_the_device_directly_on_TCP(byte unit)
    {
        await using var server = await StartAsync();
        await using var client = await server.ConnectClientAsync();

        Assert.Equal([100, 85], await client.ReadHoldingRegistersAsync(unit, 0, 2));
    }

    [Fact]
    public async Task Unknown_unit_answers_exception_0B_by_default()
    {
        await using var server = await StartAsync();
        await using var client = await server.ConnectClientAsync();

        var error = await Assert.ThrowsAsync<ModbusException>(() => client.ReadHoldingRegistersAsync(7, 0, 1));

        Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, error.Code);
    }

    [Fact]
    public async Task Unknown_unit_is_silent_when_configured_to_ignore()
    {
        await using var server = await StartAsync(new Dictionary<string, string?> { ["modbus:unknownUnit"] = "Ignore" });
        using var socket = await server.ConnectRawAsync();

        await socket.SendHexAsync("000100000006070300000001");
        Assert.True(await socket.StaysSilentAsync(TimeSpan.FromMilliseconds(300)));
        await socket.SendHexAsync("000200000006010300000001");
        Assert.Equal("0002000000050103020064", await socket.ReceiveHexAsync(11));
    }

    [Fact]
    public async Task Multi_register_write_is_atomic_for_concurrent_readers()
    {
        await using var server = await StartAsync();
        await using var writer = await server.ConnectClientAsync();
        var readers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => server.ConnectClientAsync()));
        using var stop = new CancellationTokenSource();
        var torn = 0;
        var reads = 0;

        var reading = readers.Select(reader => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var values = await reader.ReadHoldingRegistersAsync(1, 100, 120);
                Interlocked.Increment(ref reads);
                if (values.Distinct().Count() != 1)
                {
                    Interlocked.Increment(ref torn);
                }
            }
        })).ToArray();
        for (ushort round = 1; round <= 1500; round++)
        {
            await writer.WriteMultipleRegistersAsync(1, 100, Enumerable.Repeat(round, 120).ToArray());
        }

        await stop.CancelAsync();
        await Task.WhenAll(reading);
        foreach (var reader in readers)
        {
            await reader.DisposeAsync();
        }

        Assert.True(reads > 100, $"only {reads} reads overlapped the writes");
        Assert.Equal(0, torn);
    }

    [Fact]
    public async Task Sixty_four_connections_with_eight_transactions_in_flight_each_get_their_own_answers()
    {
        await using var server = await StartAsync();
        await using (var setup = await server.ConnectClientAsync())
        {
            for (ushort block = 0; block < 1000; block += 100)
            {
                await setup.WriteMultipleRegistersAsync(1, block, Enumerable.Range(block, 100).Select(v => (ushort)(v * 7)).ToArray());
            }
        }

        var clients = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => server.ConnectClientAsync()));
        var mismatches = 0;
        var answered = 0;
        await Task.WhenAll(clients.Select((client, c) => Task.Run(async () =>
        {
            for (var round = 0; round < 20; round++)
            {
                var batch = Enumerable.Range(0, 8).Select(async slot =>
                {
                    var address = (ushort)((c * 8 + slot + round * 13) % 990);
                    var count = 1 + ((c + slot) % 10);
                    var values = await client.ReadHoldingRegistersAsync(1, address, count);
                    Interlocked.Increment(ref answered);
                    if (!values.SequenceEqual(Enumerable.Range(address, count).Select(v => (ushort)(v * 7))))
                    {
                        Interlocked.Increment(ref mismatches);
                    }
                });
                await Task.WhenAll(batch);
            }
        })));
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        Assert.Equal(64 * 8 * 20, answered);
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public async Task Pipelined_requests_on_one_socket_are_answered_with_their_transaction_ids()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync();
        var requests = string.Concat(Enumerable.Range(0, 100).Select(i => $"{i:X4}00000006010300010001"));

        await socket.SendHexAsync(requests);

        var responses = await socket.ReceiveHexAsync(100 * 11);
        Assert.Equal(string.Concat(Enumerable.Range(0, 100).Select(i => $"{i:X4}000000050103020055")), responses);
    }

    [Fact]
    public async Task A_client_that_stops_reading_is_held_back_and_then_answered_in_full()
    {
        await using var server = await StartAsync();
        using var socket = await server.ConnectRawAsync();
        socket.ReceiveBufferSize = 64 * 1024;
        const int Requests = 1_000_000;
        var batch = Convert.FromHexString(string.Concat(Enumerable.Range(0, 100).Select(i => $"{i:X4}00000006010300000001")));

        // 12 MB of requests while nobody reads the 11 MB of answers (more than the kernel buffers hold): the server's output fills, it stops reading,
        // and TCP pushes back on this sender; nothing is dropped and nothing grows without bound.
        var sending = Task.Run(async () =>
        {
            for (var sent = 0; sent < Requests; sent += 100)
            {
                await socket.SendAsync(batch);
            }
        });
        await Task.Delay(500);
        var received = 0;
        var buffer = new byte[64 * 1024];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (received < Requests * 11)
        {
            var n = await socket.ReceiveAsync(buffer, deadline.Token);
            Assert.NotEqual(0, n);
            received += n;
        }

        await sending;
        Assert.Equal(Requests * 11, received);
        Assert.True(await socket.StaysSilentAsync(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public async Task Serves_IPv6_loopback_when_the_machine_has_it()
    {
        if (!Socket.OSSupportsIPv6 || !CanBindIPv6Loopback())
        {
            Assert.Skip("This machine has no IPv6 loopback.");
        }

        await using var server = await StartAsync(new Dictionary<string, string?> { ["modbus:bind"] = "::1" });
        await using var client = await Client.Modbus.ModbusTcpClient.ConnectAsync("::1", server.ModbusEndPoint.Port);

        Assert.Equal([100, 85], await client.ReadHoldingRegistersAsync(1, 0, 2));
    }

    private static bool CanBindIPv6Loopback()
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [Fact]
    public async Task A_second_server_on_the_same_port_fails_to_start()
    {
        await using var first = await StartAsync();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(new Dictionary<string, string?> { ["modbus:port"] = $"{first.ModbusEndPoint.Port}" }));

        Assert.Contains(Flatten(error), e => e is Microsoft.AspNetCore.Connections.AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse });
    }

    private static IEnumerable<Exception> Flatten(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    private Task<McpdTestServer> StartAsync(Dictionary<string, string?>? settings = null, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null) =>
        McpdTestServer.StartAsync(McpdTestServer.WithTransport(transport, settings), configure);
}

/// <summary>The tests above over mcpd's epoll transport.</summary>
public sealed class ModbusServerTestsOnEpoll() : ModbusServerTests(TransportKind.Epoll);

/// <summary>The tests above over Kestrel's socket transport.</summary>
public sealed class ModbusServerTestsOnSockets() : ModbusServerTests(TransportKind.Sockets);
