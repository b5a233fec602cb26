using Microsoft.Extensions.Options;

namespace Mcpd.Server.Devices;

/// <summary>
/// Maps unit ids to devices. Implementation Guide 4.4.1.2: a server directly on TCP is addressed by its IP address,
/// with unit id 0xFF, and also accepts 0; both reach the device with the lowest configured unit id.
/// </summary>
public sealed class DeviceRegistry
{
    private readonly IModbusDevice?[] _byUnit = new IModbusDevice?[256];
    private readonly Dictionary<string, IModbusDevice> _byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<IModbusDevice, byte> _unitOf = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Builds the devices of the config (simulated, or gateways through their upstream), then applies code
    /// registrations over them.
    /// </summary>
    public DeviceRegistry(IOptions<DevicesOptions> options, IUpstreamDevices upstreams, IEnumerable<ModbusDeviceRegistration> registrations)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(upstreams);
        var configured = options.Value.Effective;
        Simulated = [.. configured.Where(d => d.Upstream is null).Select(d => new SimulatedDevice(d))];
        foreach (var device in Simulated)
        {
            _byUnit[device.Unit] = device;
            _byName[device.Name] = device;
        }

        foreach (var device in configured.Where(d => d.Upstream is not null))
        {
            var name = device.Name ?? $"unit {device.Unit}";
            var gateway = upstreams.DeviceBehind(name, device.Upstream!, (byte)(device.UpstreamUnit ?? device.Unit));
            _byUnit[device.Unit] = gateway;
            _byName[name] = gateway;
        }

        foreach (var registration in registrations)
        {
            _byUnit[registration.Unit] = registration.Device;
        }

        for (var unit = 1; unit <= 247; unit++)
        {
            if (_byUnit[unit] is { } device)
            {
                _unitOf.TryAdd(device, (byte)unit);
            }
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

    /// <summary>The configured device named <paramref name="name"/> (case-insensitive), or null.</summary>
    public IModbusDevice? Resolve(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The unit id <paramref name="device"/> is served at (its first, when 0 and 255 stand for it too).</summary>
    public byte UnitOf(IModbusDevice device) => _unitOf[device];
}
