using System.Runtime;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Mcp;

/// <summary>
/// Returns to the system the memory that large incomplete frames took, once they are gone. Pools keep only a few large
/// buffers (<c>TransportBuffers</c>, Kestrel's block pool eviction), the rest becomes garbage, but a server at rest
/// allocates too little to run a full GC, and a GC keeps freed regions committed: so after a peak of at least
/// <see cref="MinimumPeak"/> has come down to a quarter, one aggressive (compacting, decommitting) collection runs, at
/// most once per <see cref="MinimumInterval"/>: its pause (milliseconds on a small heap) is paid only after such a peak.
/// </summary>
internal sealed partial class IncompleteFrameMemoryTrimmer(IncompleteFrameBudget budget, TimeProvider time, ILogger<IncompleteFrameMemoryTrimmer> logger) : BackgroundService
{
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan MinimumInterval = TimeSpan.FromSeconds(60);

    public const long MinimumPeak = 16 * 1024 * 1024;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(CheckInterval, time);
        var lastTrim = long.MinValue;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var peak = budget.PeakSinceTrim;
                if (peak < MinimumPeak || budget.InUse > peak / 4
                    || (lastTrim != long.MinValue && time.GetElapsedTime(lastTrim) < MinimumInterval))
                {
                    continue;
                }

                lastTrim = time.GetTimestamp();
                budget.ResetPeak();
                var before = GC.GetGCMemoryInfo().TotalCommittedBytes;
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                var after = GC.GetGCMemoryInfo().TotalCommittedBytes;
                LogTrimmed(logger, peak, before, after);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
    }

    [LoggerMessage(EventId = 309, Level = LogLevel.Information, Message = "mcp: incomplete frames held up to {PeakBytes} bytes and are gone; trimmed the GC heap from {CommittedBefore} to {CommittedAfter} committed bytes")]
    private static partial void LogTrimmed(ILogger logger, long peakBytes, long committedBefore, long committedAfter);
}
