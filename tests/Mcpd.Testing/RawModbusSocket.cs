using System.Net.Sockets;

namespace Mcpd.Testing;

/// <summary>Byte-exact helpers over a raw socket: send hex, receive exactly N bytes, detect close or silence.</summary>
public static class RawModbusSocket
{
    public static async Task SendHexAsync(this Socket socket, string hex)
    {
        ArgumentNullException.ThrowIfNull(socket);
        await socket.SendAsync(Convert.FromHexString(hex));
    }

    /// <summary>Sends <paramref name="hex"/> on each of <paramref name="sockets"/>; one the server has closed is removed from the list.</summary>
    public static async Task SendHexToEachAsync(this List<Socket> sockets, string hex)
    {
        ArgumentNullException.ThrowIfNull(sockets);
        foreach (var socket in sockets.ToArray())
        {
            try
            {
                await socket.SendHexAsync(hex);
            }
            catch (SocketException)
            {
                sockets.Remove(socket);
            }
        }
    }

    /// <summary>Receives exactly <paramref name="count"/> bytes as hex; fails after <paramref name="timeout"/> or on close.</summary>
    public static async Task<string> ReceiveHexAsync(this Socket socket, int count, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        var buffer = new byte[count];
        var received = 0;
        while (received < count)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(received), cancel.Token);
            if (n == 0)
            {
                throw new IOException($"The server closed the connection after {received} of {count} bytes: {Convert.ToHexString(buffer, 0, received)}");
            }

            received += n;
        }

        return Convert.ToHexString(buffer);
    }

    /// <summary>True when nothing arrives within <paramref name="window"/> and the connection stays open.</summary>
    public static async Task<bool> StaysSilentAsync(this Socket socket, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(socket);
        using var cancel = new CancellationTokenSource(window);
        try
        {
            var n = await socket.ReceiveAsync(new byte[1], cancel.Token);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    /// <summary>True when the server closes the connection (receive returns 0 or resets) within <paramref name="timeout"/>.</summary>
    public static async Task<bool> IsClosedByServerAsync(this Socket socket, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(5));
        try
        {
            var buffer = new byte[256];
            while (true)
            {
                if (await socket.ReceiveAsync(buffer, cancel.Token) == 0)
                {
                    return true;
                }
            }
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
