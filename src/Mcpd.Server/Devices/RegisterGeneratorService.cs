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
    private readonly List<ITimer> _timers = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var device in devices.Simulated.Where(d => d.GeneratedCount > 0))
        {
            var start = time.GetTimestamp();
            device.UpdateGenerated(TimeSpan.Zero);
            _timers.Add(time.CreateTimer(_ => device.UpdateGenerated(time.GetElapsedTime(start)), null, device.UpdateInterval, device.UpdateInterval));
            LogGenerating(logger, device.Unit, device.Name, device.GeneratedCount, device.UpdateInterval);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var timer in _timers)
        {
            await timer.DisposeAsync();
        }

        _timers.Clear();
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Unit {Unit} ({Name}): {Count} generated register(s), updated every {Interval}")]
    private static partial void LogGenerating(ILogger logger, byte unit, string name, int count, TimeSpan interval);
}
