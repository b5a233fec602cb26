using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;
using Mcpd.Testing;

namespace Mcpd.Interop.Tests;

/// <summary>
/// mcpd as a gateway in front of a device it did not write: Debian's pymodbus 3.0 server (unit 7) is the upstream.
/// pymodbus's sequential data block is one-based inside, so holding register N reads as 1000 + N + 1.
/// </summary>
public sealed class PymodbusGatewayTests(InteropTools tools, ITestOutputHelper output)
{
    private const string Server = """
        import sys
        from pymodbus.server import StartTcpServer
        from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext, ModbusServerContext
        registers = ModbusSequentialDataBlock(0, [1000 + i for i in range(100)])
        bits = ModbusSequentialDataBlock(0, [0] * 100)
        store = ModbusSlaveContext(hr=registers, ir=registers, co=bits, di=bits)
        StartTcpServer(context=ModbusServerContext(slaves={7: store}, single=False), address=("127.0.0.1", int(sys.argv[1])))
        """;

    [Fact]
    public async Task Clients_read_and_write_a_pymodbus_device_through_the_gateway()
    {
        var port = FreePort();
        using var device = Process.Start(new ProcessStartInfo(InteropTools.Python, ["-I", "-c", Server, port.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            await WaitForListenerAsync(port, device);
            output.WriteLine($"pymodbus {tools.PymodbusVersion} serving on {port}");
            await using var gateway = await McpdTestServer.StartAsync(new Dictionary<string, string?>
            {
                ["upstreams:py:address"] = $"127.0.0.1:{port}",
                ["upstreams:py:requestTimeout"] = "00:00:00.5",
                ["upstreams:py:probe:unit"] = "7",
                ["upstreams:py:tcp:maxConnections"] = "2",
                ["upstreams:py:tcp:maxInFlightPerConnection"] = "1",
                ["upstreams:py:tcp:readRetries"] = "0",
                ["devices:0:unit"] = "1",
                ["devices:0:upstream"] = "py",
                ["devices:0:upstreamUnit"] = "7",
                ["devices:1:unit"] = "2",
                ["devices:1:upstream"] = "py",
                ["devices:1:upstreamUnit"] = "9",
            });

            var clients = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => gateway.ConnectClientAsync()));
            try
            {
                await Task.WhenAll(clients.Select(async (client, i) =>
                {
                    for (var round = 0; round < 10; round++)
                    {
                        var values = await client.ReadHoldingRegistersAsync(1, (ushort)i, 2);
                        Assert.Equal([1000 + i + 1, 1000 + i + 2], values.Select(v => (int)v));
                    }
                }));

                await clients[0].WriteSingleRegisterAsync(1, 50, 4242);
                var written = await clients[1].ReadHoldingRegistersAsync(1, 50, 1);
                Assert.Equal(4242, written[0]);

                // pymodbus does not answer a unit it does not serve: the gateway answers 0x0B.
                var silent = await Assert.ThrowsAsync<ModbusException>(() => clients[2].ReadHoldingRegistersAsync(2, 0, 1));
                Assert.Equal(ModbusExceptionCode.GatewayTargetDeviceFailedToRespond, silent.Code);
            }
            finally
            {
                foreach (var client in clients)
                {
                    await client.DisposeAsync();
                }
            }
        }
        finally
        {
            device.Kill();
            await device.WaitForExitAsync(TestContext.Current.CancellationToken);
            output.WriteLine(await device.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken));
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task WaitForListenerAsync(int port, Process device)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !device.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }
}
