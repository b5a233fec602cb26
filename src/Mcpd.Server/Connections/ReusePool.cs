using System.Collections.Concurrent;

namespace Mcpd.Server.Connections;

/// <summary>
/// Free objects of one type kept for reuse by the request path, where a gateway has hundreds of requests in flight
/// (more than the framework's pools keep: one per thread and one per core). Each thread keeps up to
/// <see cref="PerThread"/> in a list of its own, without synchronization; beyond that they go to a shared list of up to
/// <see cref="Shared"/>, so objects taken on one event loop and given back on another (a client served by one loop,
/// its device's connection by another) are still reused. Beyond both, an object is left to the collector.
/// Invariant: an object is in at most one list, and in none while its user holds it. Users: the box of a suspended
/// gateway request, the pending answer and the scratch block (the only <c>byte[]</c> kept here, 512 bytes each).
/// </summary>
/// <typeparam name="T">The reused object.</typeparam>
internal static class ReusePool<T> where T : class
{
    /// <summary>Free objects a thread keeps for itself.</summary>
    public const int PerThread = 256;

    /// <summary>Free objects kept for any thread.</summary>
    public const int Shared = 1024;

    private static readonly ConcurrentQueue<T> s_shared = new();
    private static int s_sharedCount;

    [ThreadStatic]
    private static Stack<T>? t_free;

    /// <summary>A free object, or null when none is kept (the caller makes one).</summary>
    public static T? TryTake()
    {
        if (t_free is { Count: > 0 } free)
        {
            return free.Pop();
        }

        if (Volatile.Read(ref s_sharedCount) > 0 && s_shared.TryDequeue(out var shared))
        {
            Interlocked.Decrement(ref s_sharedCount);
            return shared;
        }

        return null;
    }

    /// <summary>Keeps <paramref name="item"/>, which its user no longer holds, for the next <see cref="TryTake"/>.</summary>
    public static void Give(T item)
    {
        var free = t_free ??= new Stack<T>();
        if (free.Count < PerThread)
        {
            free.Push(item);
        }
        else if (Interlocked.Increment(ref s_sharedCount) <= Shared)
        {
            s_shared.Enqueue(item);
        }
        else
        {
            Interlocked.Decrement(ref s_sharedCount);
        }
    }
}
