namespace Mcpd.Server.Connections;

/// <summary>
/// Bytes that many holders take from one limit, without a lock: a take that would pass the limit is undone and
/// refused. The limit is read at every take, so a configuration reload applies to the next one. Invariant:
/// <see cref="InUse"/> is the sum of what was taken and not given back.
/// </summary>
internal sealed class ByteBudget(Func<long> limit)
{
    private long _inUse;
    private long _peakSinceReset;

    /// <summary>The limit now.</summary>
    public long Limit => limit();

    /// <summary>Bytes taken now.</summary>
    public long InUse => Interlocked.Read(ref _inUse);

    /// <summary>Most bytes taken at once since <see cref="ResetPeak"/>.</summary>
    public long PeakSinceReset => Interlocked.Read(ref _peakSinceReset);

    /// <summary>Starts a new peak from what is taken now.</summary>
    public void ResetPeak() => Interlocked.Exchange(ref _peakSinceReset, InUse);

    /// <summary>Takes <paramref name="bytes"/>; false, with nothing taken, when that would pass the limit.</summary>
    public bool TryTake(long bytes)
    {
        var now = Interlocked.Add(ref _inUse, bytes);
        if (bytes > 0 && now > Limit)
        {
            Interlocked.Add(ref _inUse, -bytes);
            return false;
        }

        long peak;
        while (now > (peak = Interlocked.Read(ref _peakSinceReset)) && Interlocked.CompareExchange(ref _peakSinceReset, now, peak) != peak)
        {
        }

        return true;
    }

    /// <summary>Gives back <paramref name="bytes"/> taken before.</summary>
    public void Give(long bytes) => Interlocked.Add(ref _inUse, -bytes);
}
