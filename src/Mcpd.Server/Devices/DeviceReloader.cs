using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Devices;

/// <summary>
/// Applies configuration changes to the simulated devices while they serve (hot reload): register maps, values,
/// generators, read-only ranges. A change that needs new devices or new tables is logged as needing a restart; the
/// devices keep serving as they were.
/// </summary>
internal sealed partial class DeviceReloader(
    IOptionsMonitor<DevicesOptions> options, DeviceRegistry devices, RegisterGeneratorService generators, ILogger<DeviceReloader> logger) : IHostedService, IDisposable
{
    private IDisposable? _subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = options.OnChange(Apply);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _subscription?.Dispose();

    private void Apply(DevicesOptions settings)
    {
        var configured = settings.Effective.Where(d => d.Upstream is null).ToDictionary(d => (byte)d.Unit);
        if (!configured.Keys.ToHashSet().SetEquals(devices.Simulated.Select(d => d.Unit)))
        {
            LogRestartNeeded(logger, "devices were added or removed");
        }

        foreach (var device in devices.Simulated)
        {
            if (!configured.TryGetValue(device.Unit, out var deviceOptions))
            {
                continue;
            }

            if (device.TryReconfigure(deviceOptions, out var reason))
            {
                generators.Reschedule(device);
                LogApplied(logger, device.Unit, device.Name);
            }
            else
            {
                LogRestartNeeded(logger, $"unit {device.Unit}: {reason}");
            }
        }
    }

    [LoggerMessage(EventId = 710, Level = LogLevel.Information, Message = "Unit {Unit} ({Name}): the new register map, values, generators and read-only ranges apply")]
    private static partial void LogApplied(ILogger logger, byte unit, string name);

    [LoggerMessage(EventId = 711, Level = LogLevel.Warning, Message = "Configuration change not applied while running ({Reason}); it takes effect on restart")]
    private static partial void LogRestartNeeded(ILogger logger, string reason);
}
