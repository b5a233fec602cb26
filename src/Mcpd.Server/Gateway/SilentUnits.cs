namespace Mcpd.Server.Gateway;

/// <summary>
/// The unit ids behind a TCP upstream that stopped answering while the device answered others (docs/gateway.md,
/// "Health"): a set of 256 bits, read on every answer without a lock or a write.
/// </summary>
internal sealed class SilentUnits
{
    private readonly long[] _bits = new long[4];

    /// <summary>True while <paramref name="unit"/> is known silent.</summary>
    public bool Contains(byte unit) => (Volatile.Read(ref _bits[unit >> 6]) & Bit(unit)) != 0;

    /// <summary>Marks <paramref name="unit"/> silent; true when it was not.</summary>
    public bool Add(byte unit) => (Interlocked.Or(ref _bits[unit >> 6], Bit(unit)) & Bit(unit)) == 0;

    /// <summary>The unit answered; true when it was silent.</summary>
    public bool Remove(byte unit) => (Interlocked.And(ref _bits[unit >> 6], ~Bit(unit)) & Bit(unit)) != 0;

    private static long Bit(byte unit) => 1L << (unit & 63);
}
