using System.Net;
using System.Net.Sockets;
using Mcpd.Server.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Tests.Transport;

/// <summary>
/// Outbound connections of the epoll transport (the gateway's upstreams): connected by the event loop itself, to IPv4,
/// IPv6 and a host name; a refused connect is the SocketException a Socket would throw; a cancelled one ends at once.
/// </summary>
public sealed class EpollConnectTests : IDisposable
{
    private readonly EpollTransportFactory _transport = new(Options.Create(new EpollTransportOptions()), NullLogger<EpollTransportFactory>.Instance);

    public void Dispose() => _transport.Dispose();

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("localhost")]
    public async Task A_connection_carries_bytes_both_ways(string host)
    {
        var loopback = host == "::1" ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        using var listener = new Socket(loopback.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(loopback, 0));
        listener.Listen();
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var accepting = listener.AcceptAsync(TestContext.Current.CancellationToken);

        await using var connection = await _transport.ConnectAsync(new DnsEndPoint(host, port), TestContext.Current.CancellationToken);
        using var peer = await accepting;
        await connection.Transport.Output.WriteAsync("ping"u8.ToArray(), TestContext.Current.CancellationToken);
        var received = new byte[4];
        await peer.ReceiveAsync(received, TestContext.Current.CancellationToken);
        await peer.SendAsync("pong"u8.ToArray(), TestContext.Current.CancellationToken);
        var answer = await connection.Transport.Input.ReadAtLeastAsync(4, TestContext.Current.CancellationToken);

        Assert.Equal("ping"u8.ToArray(), received);
        Assert.Equal("pong"u8.ToArray(), System.Buffers.BuffersExtensions.ToArray(answer.Buffer));
        Assert.Equal(port, ((IPEndPoint)connection.RemoteEndPoint!).Port);
        Assert.Equal(((IPEndPoint)peer.RemoteEndPoint!).Port, ((IPEndPoint)connection.LocalEndPoint!).Port);
    }

    [Fact]
    public async Task A_refused_connection_throws_connection_refused()
    {
        int port;
        using (var closed = new Socket(SocketType.Stream, ProtocolType.Tcp))
        {
            closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)closed.LocalEndPoint!).Port;
        }

        var refused = await Assert.ThrowsAsync<SocketException>(() => _transport.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken).AsTask());

        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public async Task A_cancelled_connect_ends_at_once()
    {
        // 192.0.2.0/24 (TEST-NET-1, RFC 5737) is never routed: the handshake would wait for the kernel's timeout, or fail
        // at once where no route exists; either way the cancellation, not the kernel, ends it within the test's bound.
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var started = TimeProvider.System.GetTimestamp();

        var failure = await Record.ExceptionAsync(() => _transport.ConnectAsync(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 502), cancel.Token).AsTask());

        Assert.True(failure is OperationCanceledException or SocketException, $"{failure}");
        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(5));
    }
}
