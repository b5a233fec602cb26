using System.Buffers;

namespace Mcpd.Server.Transport;

/// <summary>
/// Buffers of the epoll transport. Up to <see cref="LargeThreshold"/> they come from <see cref="ArrayPool{T}.Shared"/>
/// (the everyday buffer of a connection); larger ones, grown for a large frame, come from a small pool of their own
/// that keeps at most <see cref="LargeArraysKept"/> arrays per size. So the memory a burst of large frames took goes
/// back to the GC when the burst ends, instead of staying in the shared pool's per-thread and per-core caches
/// (150 connections holding a 1 MiB frame each left 272 MB of 2 MiB arrays there after they closed).
/// </summary>
internal static class TransportBuffers
{
    /// <summary>Largest buffer taken from the shared pool.</summary>
    public const int LargeThreshold = 64 * 1024;

    /// <summary>Large arrays kept per size (powers of two from 128 KiB): at most about 16 MiB up to 2 MiB buffers.</summary>
    public const int LargeArraysKept = 4;

    private static readonly ArrayPool<byte> Large = ArrayPool<byte>.Create(maxArrayLength: 64 * 1024 * 1024, maxArraysPerBucket: LargeArraysKept);

    public static byte[] Rent(int minimumLength) =>
        minimumLength <= LargeThreshold ? ArrayPool<byte>.Shared.Rent(minimumLength) : Large.Rent(minimumLength);

    public static void Return(byte[] buffer)
    {
        if (buffer.Length <= LargeThreshold)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        else
        {
            Large.Return(buffer);
        }
    }
}
