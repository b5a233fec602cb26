using System.Buffers;
using System.IO.Ports;
using System.Net;
using System.Net.Sockets;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Testing;

/// <summary>
/// Simulated RTU slaves for tests: several units, each a <see cref="SimulatedDevice"/>, on one serial line (a pty end)
/// or behind a loopback TCP port that plays an RTU-over-TCP converter. Faults on demand: corrupt the CRC of a unit's
/// next responses, play a dead unit (it hears and never answers), answer slowly.
/// </summary>
public sealed class RtuSlaveSimulator : IAsyncDisposable
{
    private readonly Dictionary<byte, SimulatedDevice> _devices;
    private readonly Lock _lock = new();
    private readonly int[] _requests = new int[256];
    private readonly int[] _corrupt = new int[256];
    private readonly bool[] _dead = new bool[256];
    private readonly CancellationTokenSource _stop = new();
    private readonly IDisposable _resource;
    private Task _loop = Task.CompletedTask;
    private Stream? _stream;
    private int _broadcasts;

    private RtuSlaveSimulator(IEnumerable<SimulatedDevice> devices, IDisposable resource)
    {
        _devices = devices.ToDictionary(d => d.Unit);
        _resource = resource;
    }

    /// <summary>The loopback port of a converter started with <see cref="ListenTcp"/>.</summary>
    public int TcpPort { get; private init; }

    /// <summary>How long each unit takes to answer.</summary>
    public TimeSpan ResponseDelay { get; set; }

    /// <summary>Broadcast requests heard (and executed by every unit).</summary>
    public int Broadcasts => Volatile.Read(ref _broadcasts);

    /// <summary>The device behind <paramref name="unit"/>.</summary>
    public SimulatedDevice this[byte unit] => _devices[unit];

    /// <summary>Serves <paramref name="devices"/> on the serial port (or pty) <paramref name="path"/> at 19200 baud, 8E1.</summary>
    public static RtuSlaveSimulator OnSerialPort(string path, params SimulatedDevice[] devices)
    {
        var port = new SerialPort(path, 19200, Parity.Even, 8, StopBits.One);
        port.Open();
        var slave = new RtuSlaveSimulator(devices, port);
        slave._loop = Task.Run(() => slave.ServeAsync(port.BaseStream, slave._stop.Token));
        return slave;
    }

    /// <summary>Serves <paramref name="devices"/> as an RTU-over-TCP converter on a loopback port, one connection at a time.</summary>
    public static RtuSlaveSimulator ListenTcp(params SimulatedDevice[] devices)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var slave = new RtuSlaveSimulator(devices, listener.Server) { TcpPort = ((IPEndPoint)listener.LocalEndpoint).Port };
        slave._loop = Task.Run(async () =>
        {
            while (!slave._stop.IsCancellationRequested)
            {
                using var client = await listener.AcceptTcpClientAsync(slave._stop.Token);
                await slave.ServeAsync(client.GetStream(), slave._stop.Token);
            }
        });
        return slave;
    }

    /// <summary>A simulated device with unit id <paramref name="unit"/> and small tables.</summary>
    public static SimulatedDevice Device(byte unit) => new(new DeviceOptions { Unit = unit, Name = $"rtu unit {unit}", HoldingRegisters = 100, Coils = 100, DiscreteInputs = 100, InputRegisters = 100 });

    /// <summary>The next <paramref name="count"/> responses of <paramref name="unit"/> leave with a wrong CRC.</summary>
    public void CorruptResponses(byte unit, int count)
    {
        lock (_lock)
        {
            _corrupt[unit] = count;
        }
    }

    /// <summary>A dead unit hears its requests (they are counted) and never answers.</summary>
    public void SetDead(byte unit, bool dead)
    {
        lock (_lock)
        {
            _dead[unit] = dead;
        }
    }

    /// <summary>Requests heard for <paramref name="unit"/> with an intact CRC.</summary>
    public int Requests(byte unit)
    {
        lock (_lock)
        {
            return _requests[unit];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _resource.Dispose();
        try
        {
            await _loop;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // Stopped while reading.
        }

        _stop.Dispose();
    }

    /// <summary>Writes <paramref name="bytes"/> on the line as they are (noise), outside any exchange.</summary>
    public async Task InjectAsync(byte[] bytes)
    {
        var stream = Volatile.Read(ref _stream) ?? throw new InvalidOperationException("no line is open yet");
        await stream.WriteAsync(bytes);
    }

    private async Task ServeAsync(Stream stream, CancellationToken stop)
    {
        Volatile.Write(ref _stream, stream);
        var buffer = new byte[1024];
        var filled = 0;
        var answer = new byte[ModbusRtuCodec.MaxAduLength];
        var pdu = new byte[ModbusLimits.MaxPduLength];
        while (!stop.IsCancellationRequested)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(filled), stop);
            if (read == 0)
            {
                return;
            }

            filled += read;
            var offset = 0;
            while (offset < filled)
            {
                var sequence = new ReadOnlySequence<byte>(buffer, offset, filled - offset);
                var status = ModbusRtuCodec.DecodeRequest(sequence, out var frame, out var consumed);
                if (status == OperationStatus.NeedMoreData)
                {
                    break;
                }

                var frameLength = (int)sequence.Slice(0, consumed).Length;
                if (status != OperationStatus.Done)
                {
                    // A slave ignores a frame with a bad CRC (Serial Line 2.4.1) and resynchronises on garbage.
                    offset += Math.Max(frameLength, 1);
                    continue;
                }

                offset += frameLength;
                var request = frame.Pdu.ToArray();
                var delay = ResponseDelay;
                if (Answer(frame.Unit, request, pdu, answer) is var length and > 0)
                {
                    if (delay > TimeSpan.Zero)
                    {
                        await Task.Delay(delay, stop);
                    }

                    await stream.WriteAsync(answer.AsMemory(0, length), stop);
                }
            }

            buffer.AsSpan(offset, filled - offset).CopyTo(buffer);
            filled -= offset;
        }
    }

    /// <summary>Executes a request; returns the length of the response ADU to send, or 0 for none.</summary>
    private int Answer(byte unit, byte[] request, byte[] pdu, byte[] answer)
    {
        if (unit == 0)
        {
            foreach (var device in _devices.Values)
            {
                device.Execute(request, pdu);
            }

            Interlocked.Increment(ref _broadcasts);
            return 0;
        }

        bool corrupt;
        lock (_lock)
        {
            _requests[unit]++;
            if (_dead[unit] || !_devices.ContainsKey(unit))
            {
                return 0;
            }

            corrupt = _corrupt[unit] > 0;
            if (corrupt)
            {
                _corrupt[unit]--;
            }
        }

        var length = ModbusRtuCodec.Encode(unit, pdu.AsSpan(0, _devices[unit].Execute(request, pdu)), answer);
        if (corrupt)
        {
            answer[length - 1] ^= 0xFF;
        }

        return length;
    }
}
