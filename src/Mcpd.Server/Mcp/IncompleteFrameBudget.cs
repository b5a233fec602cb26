using Mcpd.Server.Connections;
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

    private readonly ByteBudget _bytes = new(() => options.CurrentValue.MaxIncompleteFrameBytes);

    /// <summary>The budget now (hot reload applies to the next reservation).</summary>
    public long Limit => _bytes.Limit;

    /// <summary>Bytes held now.</summary>
    public long InUse => _bytes.InUse;

    /// <summary>Most bytes held at once since <see cref="ResetPeak"/>: what a trim may give back to the system.</summary>
    public long PeakSinceTrim => _bytes.PeakSinceReset;

    /// <summary>Starts a new peak after the memory was trimmed.</summary>
    public void ResetPeak() => _bytes.ResetPeak();

    /// <summary>
    /// Sets a connection's share from <paramref name="held"/> to <paramref name="bytes"/> (its incomplete frame now);
    /// false, with the share unchanged, when the growth does not fit.
    /// </summary>
    public bool TryResize(ref long held, long bytes)
    {
        var wanted = bytes > Threshold ? bytes : 0;
        if (wanted == held || !_bytes.TryTake(wanted - held))
        {
            return wanted == held;
        }

        held = wanted;
        return true;
    }

    /// <summary>Gives a connection's whole share back.</summary>
    public void Release(ref long held)
    {
        _bytes.Give(held);
        held = 0;
    }
}
