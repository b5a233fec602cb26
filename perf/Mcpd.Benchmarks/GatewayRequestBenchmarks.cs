using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Mcpd.Client;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;
using Mcpd.Server.Gateway;
using Mcpd.Server.Transport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Mcpd.Benchmarks;

/// <summary>
/// A request through the gateway's TCP upstream (<see cref="ModbusTcpUpstream"/>): the deadline, the circuit breaker,
/// a slot of the pool, the pooled exchange on a connection served by the epoll transport, and the answer copied into
/// the caller's buffer, to a device on loopback (a minimal responder on a thread of its own, answering FC03 x 10
/// registers). <c>Fc03_One</c> is one round trip; <c>Fc03_Pipelined16</c> starts 16 requests and awaits them, as a
/// pipelining client's burst; <c>Client_One</c> is the upstream connection alone. The Allocated column counts every
/// thread's allocations (docs/performance.md says what they are).
/// </summary>
[MemoryDiagnoser]
public class GatewayRequestBenchmarks
{
    private const int Burst = 16;

    private readonly byte[] _request = new byte[5];
    private readonly byte[][] _responses = [.. Enumerable.Range(0, Burst).Select(_ => new byte[ModbusLimits.MaxPduLength])];
    private readonly ValueTask<int>[] _pending = new ValueTask<int>[Burst];
    private EpollTransportFactory _transport = null!;
    private ModbusTcpUpstream _upstream = null!;
    private TcpListener _device = null!;
    private ModbusTcpClient _client = null!;
    private Thread _deviceThread = null!;

    [GlobalSetup]
    public void Setup()
    {
        _device = new TcpListener(IPAddress.Loopback, 0);
        _device.Start();
        _deviceThread = new Thread(AnswerForever) { IsBackground = true, Name = "loopback device" };
        _deviceThread.Start();
        ModbusRequestPdu.Read(_request, ModbusFunctionCode.ReadHoldingRegisters, 0, 10);
        _transport = new EpollTransportFactory(Options.Create(new EpollTransportOptions()), NullLogger<EpollTransportFactory>.Instance);
        var options = new UpstreamOptions
        {
            Address = $"127.0.0.1:{((IPEndPoint)_device.LocalEndpoint).Port}",
            Probe = new UpstreamProbeOptions { Interval = TimeSpan.Zero },
            Tcp = new TcpUpstreamOptions { MaxConnections = 1, MaxInFlightPerConnection = Burst },
        };
        _upstream = new ModbusTcpUpstream("bench", options, _transport, TimeProvider.System, NullLoggerFactory.Instance);
        _upstream.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        _client = new ModbusTcpConnector(HostPort.Parse(options.Address, 502), new ModbusClientOptions(), _transport).ConnectAsync(CancellationToken.None).GetAwaiter().GetResult();
        if (Fc03_One().AsTask().GetAwaiter().GetResult() != 2 + 20)
        {
            throw new InvalidOperationException("the loopback device did not answer FC03 x 10");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _upstream.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _client.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _transport.Dispose();
        _device.Stop();
    }

    /// <summary>The upstream connection alone: <see cref="ModbusTcpClient.ExchangeAsync(byte, ReadOnlyMemory{byte}, Memory{byte}, TimeSpan, CancellationToken)"/> on the epoll transport.</summary>
    [Benchmark]
    public ValueTask<int> Client_One() => _client.ExchangeAsync(1, _request, _responses[0], TimeSpan.FromSeconds(1));

    [Benchmark]
    public ValueTask<int> Fc03_One() => _upstream.ExecuteAsync(1, _request, _responses[0], new ModbusCaller("bench"), CancellationToken.None);

    [Benchmark(OperationsPerInvoke = Burst)]
    public async ValueTask<int> Fc03_Pipelined16()
    {
        for (var i = 0; i < Burst; i++)
        {
            // Each ValueTask is awaited exactly once, below: the burst is in flight together, as a pipelining client's.
#pragma warning disable CA2012
            _pending[i] = _upstream.ExecuteAsync(1, _request, _responses[i], new ModbusCaller("bench"), CancellationToken.None);
#pragma warning restore CA2012
        }

        var total = 0;
        for (var i = 0; i < Burst; i++)
        {
            total += await _pending[i];
        }

        return total;
    }

    /// <summary>The device: a thread per connection, answering every FC03 ADU with 10 registers of zeros, reading and writing whole batches.</summary>
    private void AnswerForever()
    {
        try
        {
            while (true)
            {
                var socket = _device.AcceptSocket();
                new Thread(() => Answer(socket)) { IsBackground = true, Name = "loopback device connection" }.Start();
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The listener stopped: the benchmark is over.
        }
    }

    private static void Answer(Socket socket)
    {
        using (socket)
        {
            socket.NoDelay = true;
            var input = new byte[64 * 1024];
            var output = new byte[64 * 1024];
            var held = 0;
            try
            {
                int received;
                while ((received = socket.Receive(input, held, input.Length - held, SocketFlags.None)) > 0)
                {
                    held += received;
                    var offset = 0;
                    var written = 0;
                    while (held - offset >= 12)
                    {
                        // MBAP header (transaction id, protocol 0, length 6, unit) + FC03 request; the answer: length 23.
                        output.AsSpan(written, 4).Clear();
                        input.AsSpan(offset, 2).CopyTo(output.AsSpan(written));
                        BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(written + 4), 23);
                        output[written + 6] = input[offset + 6];
                        output[written + 7] = 0x03;
                        output[written + 8] = 20;
                        output.AsSpan(written + 9, 20).Clear();
                        written += 29;
                        offset += 12;
                    }

                    socket.Send(output, 0, written, SocketFlags.None);
                    input.AsSpan(offset, held - offset).CopyTo(input);
                    held -= offset;
                }
            }
            catch (SocketException)
            {
                // The gateway closed the connection.
            }
        }
    }
}
