using System.IO.Ports;
using System.Net.Sockets;
using Mcpd.Client;

namespace Mcpd.Server.Gateway;

/// <summary>The wire under an RTU bus: a serial port, or a TCP connection to an RTU-over-TCP converter.</summary>
internal interface IRtuLine : IAsyncDisposable
{
    /// <summary>Sends one ADU.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken);

    /// <summary>Reads what has arrived, waiting for at least one byte; 0 when the line is closed.</summary>
    ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Drops the bytes received and not read (garbage, late answers); returns how many.</summary>
    int DiscardInput();
}

/// <summary>A serial port (System.IO.Ports), read and written through its stream asynchronously.</summary>
internal sealed class SerialRtuLine : IRtuLine
{
    private readonly SerialPort _port;
    private readonly Stream _stream;

    private SerialRtuLine(SerialPort port)
    {
        _port = port;
        _stream = port.BaseStream;
    }

    /// <summary>
    /// Opens <see cref="RtuUpstreamOptions.Port"/> with the line settings; throws when it cannot, with a message that
    /// says why in the operator's terms. System.IO.Ports reports a device that does not exist as "Access to the port
    /// is denied"; the device node is checked first so that case says "no such device".
    /// </summary>
    public static SerialRtuLine Open(RtuUpstreamOptions options)
    {
        var path = options.Port!;
        if (path.StartsWith("/dev/", StringComparison.Ordinal) && !File.Exists(path))
        {
            throw new IOException($"no such device: {path} does not exist (is the adapter plugged in? ls /dev/serial/by-id lists the serial devices)");
        }

        var port = new SerialPort(path, options.BaudRate, ToParity(options.Parity), options.DataBits, options.StopBits == 2 ? StopBits.Two : StopBits.One)
        {
            Handshake = Handshake.None,
            ReadTimeout = SerialPort.InfiniteTimeout,
        };
        try
        {
            port.Open();
            port.DiscardInBuffer();
            return new SerialRtuLine(port);
        }
        catch (UnauthorizedAccessException ex)
        {
            port.Dispose();
            throw new UnauthorizedAccessException($"permission denied on {path}, or another process holds it (the user needs read and write access, as the dialout group gives)", ex);
        }
        catch
        {
            port.Dispose();
            throw;
        }
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) => _stream.WriteAsync(frame, cancellationToken);

    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) => _stream.ReadAsync(buffer, cancellationToken);

    public int DiscardInput()
    {
        try
        {
            var pending = _port.BytesToRead;
            _port.DiscardInBuffer();
            return pending;
        }
        catch (InvalidOperationException e)
        {
            // SerialPort's "the port is closed" (a USB adapter unplugged): a failure of the line, reopened as such.
            throw new IOException(e.Message, e);
        }
    }

    public ValueTask DisposeAsync()
    {
        _port.Dispose();
        return ValueTask.CompletedTask;
    }

    private static Parity ToParity(RtuParity parity) => parity switch
    {
        RtuParity.Even => Parity.Even,
        RtuParity.Odd => Parity.Odd,
        _ => Parity.None,
    };
}

/// <summary>A TCP connection to an RTU-over-TCP converter: RTU frames, CRC included, travel unchanged in the stream.</summary>
internal sealed class TcpRtuLine(Socket socket) : IRtuLine
{
    private readonly byte[] _discard = new byte[512];

    /// <summary>Connects to <paramref name="address"/> within <paramref name="timeout"/>; throws when it cannot.</summary>
    public static async Task<TcpRtuLine> ConnectAsync(HostPort address, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(address.Host, address.Port, deadline.Token);
            return new TcpRtuLine(socket);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"no connection to {address} within {timeout.TotalMilliseconds:0} ms");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        while (!frame.IsEmpty)
        {
            frame = frame[await socket.SendAsync(frame, SocketFlags.None, cancellationToken)..];
        }
    }

    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken) => socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    public int DiscardInput()
    {
        var dropped = 0;
        while (socket.Available > 0)
        {
            dropped += socket.Receive(_discard);
        }

        return dropped;
    }

    public ValueTask DisposeAsync()
    {
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
