using System.Globalization;

namespace Mcpd.Server.Connections;

/// <summary>
/// The process's open-file limit (RLIMIT_NOFILE) as a bound on protocol connections. Every connection is a descriptor;
/// a process out of descriptors accepts nothing at all, not even the admin API's /healthz, and logs nothing useful
/// (Kestrel's socket transport even gives up its accept loop). So the protocol listeners together admit at most
/// <see cref="MaxConnections"/>: the limit less the descriptors open when mcpd started (runtime, listeners, logs) and
/// <see cref="Headroom"/> more for what is opened later (admin API connections, upstream and Redis connections, files).
/// </summary>
public sealed class OpenFileLimit
{
    /// <summary>Descriptors kept free for everything but protocol connections, beyond those open at start.</summary>
    public const int Headroom = 256;

    private OpenFileLimit(long? limit, int openAtStart)
    {
        Limit = limit;
        OpenAtStart = openAtStart;
        MaxConnections = limit is { } known ? (int)Math.Clamp(known - openAtStart - Headroom, 0, int.MaxValue) : int.MaxValue;
    }

    /// <summary>The soft limit on open descriptors; null when unlimited or unknown (not Linux).</summary>
    public long? Limit { get; }

    /// <summary>Descriptors open when the limit was read.</summary>
    public int OpenAtStart { get; }

    /// <summary>Protocol connections, all listeners together, that fit under the limit.</summary>
    public int MaxConnections { get; }

    /// <summary>Reads the limit of this process from /proc (Linux); elsewhere, or when unlimited, no bound.</summary>
    public static OpenFileLimit OfThisProcess()
    {
        try
        {
            var limits = File.ReadAllLines("/proc/self/limits");
            var line = limits.FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var fields = line?["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long? soft = fields is [var value, ..] && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
            return new OpenFileLimit(soft, Directory.GetFiles("/proc/self/fd").Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new OpenFileLimit(null, 0);
        }
    }
}
