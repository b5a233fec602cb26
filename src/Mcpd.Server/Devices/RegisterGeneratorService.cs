using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Devices;

/// <summary>
/// Runs the register generators of every simulated device: a first update when the host starts, then one every
/// <see cref="DeviceOptions.UpdateInterval"/> of that device, on timers of the injected <see cref="TimeProvider"/>
/// (tests advance a fake one). Devices without generators get no timer.
/// </summary>
internal sealed partial class RegisterGeneratorService(DeviceRegistry devices, TimeProvider time, ILogger<RegisterGeneratorService> logger)
    : IHostedService, IAsyncDisposable
{
    private readonly Lock _sync = new();
    private readonly Dictionary<SimulatedDevice, ITimer> _timers = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var device in devices.Simulated)
        {
            Reschedule(device);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// (Re)starts the generators of <paramref name="device"/> from time zero with its current interval; a device
    /// left without generators loses its timer. Called at start and after a hot reload changed the device.
    /// </summary>
    public void Reschedule(SimulatedDevice device)
    {
        lock (_sync)
        {
            if (_timers.Remove(device, out var old))
            {
                old.Dispose();
            }

            if (device.GeneratedCount == 0)
            {
                return;
            }

            var start = time.GetTimestamp();
            device.UpdateGenerated(TimeSpan.Zero);
            _timers[device] = time.CreateTimer(_ => device.UpdateGenerated(time.GetElapsedTime(start)), null, device.UpdateInterval, device.UpdateInterval);
        }

        LogGenerating(logger, device.Unit, device.Name, device.GeneratedCount, device.UpdateInterval);
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        ITimer[] timers;
        lock (_sync)
        {
            timers = [.. _timers.Values];
            _timers.Clear();
        }

        foreach (var timer in timers)
        {
            await timer.DisposeAsync();
        }
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Unit {Unit} ({Name}): {Count} generated register(s), updated every {Interval}")]
    private static partial void LogGenerating(ILogger logger, byte unit, string name, int count, TimeSpan interval);
}
