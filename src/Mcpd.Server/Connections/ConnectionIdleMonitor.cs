using Microsoft.Extensions.Hosting;

namespace Mcpd.Server.Connections;

/// <summary>Once a second, closes connections that have been idle past their timeout.</summary>
internal sealed class ConnectionIdleMonitor(ConnectionRegistry connections, TimeProvider time) : BackgroundService
{
    /// <summary>Resolution of idle timeouts.</summary>
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(SweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                connections.CloseIdle();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
    }
}
