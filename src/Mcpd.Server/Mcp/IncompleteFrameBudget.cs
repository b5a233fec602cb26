using Microsoft.Extensions.Options;

namespace Mcpd.Server.Mcp;

/// <summary>
/// Bytes all MCP connections together hold in frames that have not fully arrived (<c>mcp.maxIncompleteFrameBytes</c>).
/// Only a frame holding more than <see cref="Threshold"/> bytes counts: up to that every connection may buffer freely
/// (an everyday frame arrives in a read or two), beyond it the connection holds a share of the budget, grown with its
/// frame and given back when the frame completes or the connection ends. When the budget is spent the connection that
/// asked is answered ERROR OVERLOADED and closed, so peers that start large frames and never finish them cost the
/// server at most the budget, not their number times the largest frame.
/// </summary>
internal sealed class IncompleteFrameBudget(IOptionsMonitor<McpServerOptions> options)
{
    /// <summary>Bytes of one incomplete frame held without counting against the budget.</summary>
    public const int Threshold = 64 * 1024;

    private long _inUse;
    private long _peakSinceTrim;

    /// <summary>The budget now (hot reload applies to the next reservation).</summary>
    public long Limit => options.CurrentValue.MaxIncompleteFrameBytes;

    /// <summary>Bytes held now.</summary>
    public long InUse => Interlocked.Read(ref _inUse);

    /// <summary>Most bytes held at once since <see cref="ResetPeak"/>: what a trim may give back to the system.</summary>
    public long PeakSinceTrim => Interlocked.Read(ref _peakSinceTrim);

    /// <summary>Starts a new peak after the memory was trimmed.</summary>
    public void ResetPeak() => Interlocked.Exchange(ref _peakSinceTrim, InUse);

    /// <summary>
    /// Sets a connection's share from <paramref name="held"/> to <paramref name="bytes"/> (its incomplete frame now);
    /// false, with the share unchanged, when the growth does not fit.
    /// </summary>
    public bool TryResize(ref long held, long bytes)
    {
        var wanted = bytes > Threshold ? bytes : 0;
        var growth = wanted - held;
        if (growth == 0)
        {
            return true;
        }

        var now = Interlocked.Add(ref _inUse, growth);
        if (growth > 0 && now > Limit)
        {
            Interlocked.Add(ref _inUse, -growth);
            return false;
        }

        held = wanted;
        long peak;
        while (now > (peak = Interlocked.Read(ref _peakSinceTrim)) && Interlocked.CompareExchange(ref _peakSinceTrim, now, peak) != peak)
        {
        }

        return true;
    }

    /// <summary>Gives a connection's whole share back.</summary>
    public void Release(ref long held)
    {
        Interlocked.Add(ref _inUse, -held);
        held = 0;
    }
}
