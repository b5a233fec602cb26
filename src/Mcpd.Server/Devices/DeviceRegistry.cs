using Mcpd.Server.Configuration;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Devices;

/// <summary>
/// Maps unit ids to devices. Implementation Guide 4.4.1.2: a server directly on TCP is addressed by its IP address,
/// with unit id 0xFF, and also accepts 0; both reach the device with the lowest configured unit id.
/// </summary>
public sealed class DeviceRegistry
{
    private readonly IModbusDevice?[] _byUnit = new IModbusDevice?[256];

    /// <summary>Builds the simulated devices of the config, then applies code registrations over them.</summary>
    public DeviceRegistry(IOptions<McpdOptions> options, IEnumerable<ModbusDeviceRegistration> registrations)
    {
        ArgumentNullException.ThrowIfNull(options);
        Simulated = [.. options.Value.EffectiveDevices.Select(d => new SimulatedDevice(d))];
        foreach (var device in Simulated)
        {
            _byUnit[device.Unit] = device;
        }

        foreach (var registration in registrations)
        {
            _byUnit[registration.Unit] = registration.Device;
        }

        var direct = Array.FindIndex(_byUnit, 1, 247, d => d is not null);
        if (direct > 0)
        {
            _byUnit[0] = _byUnit[0xFF] = _byUnit[direct];
        }
    }

    /// <summary>The simulated devices from config, by unit id.</summary>
    public IReadOnlyList<SimulatedDevice> Simulated { get; }

    /// <summary>The device for <paramref name="unit"/>, or null when none is configured.</summary>
    public IModbusDevice? Resolve(byte unit) => _byUnit[unit];
}
