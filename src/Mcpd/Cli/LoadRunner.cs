using System.Diagnostics;
using System.Globalization;
using HdrHistogram;

namespace Mcpd.Cli;

/// <summary>
/// Drives one request function from <c>connections x depth</c> concurrent loops until a duration or a request count
/// is reached, recording each request's latency in an HdrHistogram; prints a progress line each second and a final
/// summary line in the form of the shared bench tools (<c>requests=... rps=... p50_us=...</c>).
/// </summary>
internal sealed class LoadRunner(int depth, TimeSpan duration, long maxRequests, bool quiet)
{
    private readonly LongConcurrentHistogram _latency = new(1, TimeStamp.Seconds(60), 3);
    private long _admitted;
    private long _requests;
    private long _errors;
    private string? _firstError;

    /// <summary>
    /// Runs <paramref name="send"/> (null for a good response, else what was wrong with it) on every loop of every
    /// connection; returns the process exit code.
    /// </summary>
    public async Task<int> RunAsync<TConnection>(IReadOnlyList<TConnection> connections, Func<TConnection, Task<string?>> send, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(duration);
        var started = Stopwatch.GetTimestamp();
        var loops = connections.SelectMany(connection => Enumerable.Range(0, depth).Select(_ => LoopAsync(connection, send, stop)));
        var progress = quiet ? Task.CompletedTask : ProgressAsync(started, stop.Token);
        await Task.WhenAll(loops);
        await stop.CancelAsync();
        await progress;
        var elapsed = Stopwatch.GetElapsedTime(started);
        if (!quiet)
        {
            await Console.Error.WriteLineAsync();
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"requests={_requests} rps={_requests / elapsed.TotalSeconds:F0} p50_us={Percentile(50):F1} p99_us={Percentile(99):F1} p999_us={Percentile(99.9):F1} max_us={_latency.GetMaxValue() / (double)TicksPerMicrosecond:F1} errors={_errors} conns={connections.Count} depth={depth} secs={elapsed.TotalSeconds:F3}"));
        if (_firstError is not null)
        {
            await Console.Error.WriteLineAsync($"first error: {_firstError}");
        }

        return _errors == 0 ? ExitCodes.Success : ExitCodes.RequestFailed;
    }

    private static long TicksPerMicrosecond => Stopwatch.Frequency / 1_000_000;

    private double Percentile(double percentile) =>
        _latency.TotalCount == 0 ? 0 : _latency.GetValueAtPercentile(percentile) / (double)TicksPerMicrosecond;

    private async Task LoopAsync<TConnection>(TConnection connection, Func<TConnection, Task<string?>> send, CancellationTokenSource stop)
    {
        while (!stop.IsCancellationRequested && Interlocked.Increment(ref _admitted) <= maxRequests)
        {
            var started = Stopwatch.GetTimestamp();
            string? problem;
            try
            {
                problem = await send(connection);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                problem = ex.Message;
            }

            _latency.RecordValue(Math.Max(1, Stopwatch.GetTimestamp() - started));
            Interlocked.Increment(ref _requests);
            if (problem is not null)
            {
                Interlocked.Increment(ref _errors);
                Interlocked.CompareExchange(ref _firstError, problem, null);
            }
        }
    }

    private async Task ProgressAsync(long started, CancellationToken stop)
    {
        var last = 0L;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var now = Volatile.Read(ref _requests);
                await Console.Error.WriteAsync(string.Create(CultureInfo.InvariantCulture,
                    $"\r[{Stopwatch.GetElapsedTime(started).TotalSeconds:F0}s] {now - last} req/s, {now} requests, {Volatile.Read(ref _errors)} errors   "));
                last = now;
            }
        }
        catch (OperationCanceledException)
        {
            // The run is over.
        }
    }
}
