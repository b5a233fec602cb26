namespace Mcpd.Server.Devices;

/// <summary>
/// The devices served (config section <c>devices</c>), for the classes that read no other section; bound from the
/// configuration root, where <see cref="Devices"/> is the section.
/// </summary>
public sealed class DevicesOptions
{
    /// <summary>Devices served, keyed by unit id. Empty means the built-in default device.</summary>
    public IList<DeviceOptions> Devices { get; init; } = [];

    /// <summary>The configured devices, or the built-in default when none is configured.</summary>
    public IReadOnlyList<DeviceOptions> Effective => EffectiveOf(Devices);

    /// <summary>The devices served for <paramref name="configured"/>: those, or the built-in default when there are none.</summary>
    public static IReadOnlyList<DeviceOptions> EffectiveOf(IList<DeviceOptions> configured)
    {
        ArgumentNullException.ThrowIfNull(configured);
        return configured.Count > 0 ? [.. configured] : [DeviceOptions.CreateBuiltInDefault()];
    }
}
