namespace Mcpd.Testing;

/// <summary>An attack beside a well-behaved client, for tests of what the server protects.</summary>
public static class Attack
{
    /// <summary>
    /// Runs <paramref name="attackTick"/> every 100 ms (with its count from 1) while <paramref name="poll"/> runs once
    /// a second, <paramref name="polls"/> times (with its count from 1); the attack stops after the last poll, and a
    /// failure of either fails the call.
    /// </summary>
    public static async Task WhilePollingAsync(Func<int, Task> attackTick, int polls, Func<int, Task> poll)
    {
        ArgumentNullException.ThrowIfNull(attackTick);
        ArgumentNullException.ThrowIfNull(poll);
        using var stop = new CancellationTokenSource();
        var attack = Task.Run(async () =>
        {
            for (var tick = 1; !stop.IsCancellationRequested; tick++)
            {
                await attackTick(tick);
                await Task.Delay(100);
            }
        });
        try
        {
            for (var i = 1; i <= polls; i++)
            {
                await Task.Delay(1000);
                await poll(i);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await attack;
        }
    }
}
