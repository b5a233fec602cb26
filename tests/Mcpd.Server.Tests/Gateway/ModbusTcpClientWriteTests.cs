using System.Net;
using System.Net.Sockets;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;

namespace Mcpd.Server.Tests.Gateway;

/// <summary>
/// The pooled connections of the TCP gateway are <see cref="ModbusTcpClient"/>s: how one behaves when its writes
/// cannot go out (a device that stops reading) and when it is disposed under load.
/// </summary>
public sealed class ModbusTcpClientWriteTests
{
    /// <summary>Requests of the longest PDU (FC10, 123 registers) sent at once: about 5 MB, more than the socket buffers of a peer that reads nothing take.</summary>
    private const int Flood = 20000;

    [Fact]
    public async Task A_write_cut_off_by_its_timeout_closes_the_connection_so_its_bytes_never_lead_the_next_request()
    {
        await using var peer = await SilentPeer.StartAsync(new ModbusClientOptions { RequestTimeout = TimeSpan.FromSeconds(1) });

        var failures = await peer.FloodAsync();

        // Every request failed, none hung; the one cut off in the middle of its flush closed the connection.
        Assert.All(failures, f => Assert.True(f is TimeoutException or IOException, f.ToString()));
        Assert.False(peer.Client.IsOpen);
        await Assert.ThrowsAsync<IOException>(() => peer.Client.SendAsync(1, new byte[] { 0x03, 0, 0, 0, 1 }));
    }

    [Fact]
    public async Task Disposing_a_client_with_requests_waiting_to_write_fails_them_all_at_once_with_IOException()
    {
        await using var peer = await SilentPeer.StartAsync(new ModbusClientOptions { RequestTimeout = TimeSpan.FromMinutes(1) });
        var flood = peer.FloodAsync();
        // Not an assertion: time for the requests to fill the socket buffers and queue behind the write lock.
        await Task.Delay(500);

        await peer.Client.DisposeAsync();

        // Well within the 1 min request timeout: nobody waits for it, and nothing but IOException comes out.
        var failures = await flood.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.All(failures, f => Assert.IsType<IOException>(f, exactMatch: false));
    }

    /// <summary>A Modbus TCP server that accepts the connection and never reads from it, with a small receive buffer.</summary>
    private sealed class SilentPeer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly Socket _accepted;

        private SilentPeer(TcpListener listener, Socket accepted, ModbusTcpClient client)
        {
            _listener = listener;
            _accepted = accepted;
            Client = client;
        }

        public ModbusTcpClient Client { get; }

        public static async Task<SilentPeer> StartAsync(ModbusClientOptions options)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Server.ReceiveBufferSize = 4096;
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var client = await ModbusTcpClient.ConnectAsync("127.0.0.1", port, options);
            var accepted = await listener.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(10));
            return new SilentPeer(listener, accepted, client);
        }

        /// <summary>Sends <see cref="Flood"/> requests at once; returns how each failed (none can succeed).</summary>
        public async Task<Exception[]> FloodAsync()
        {
            var pdu = new byte[ModbusLimits.MaxPduLength];
            var length = ModbusRequestPdu.WriteMultipleRegisters(pdu, 0, new ushort[123]);
            var requests = Enumerable.Range(0, Flood).Select(async _ =>
            {
                try
                {
                    await Client.SendAsync(1, pdu.AsMemory(0, length));
                    return new InvalidOperationException("a peer that never reads answered");
                }
                catch (Exception ex)
                {
                    return ex;
                }
            });
            return await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(60));
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            _accepted.Dispose();
            _listener.Stop();
        }
    }
}
