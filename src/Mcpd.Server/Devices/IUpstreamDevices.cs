namespace Mcpd.Server.Devices;

/// <summary>
/// The devices of the config that are real devices behind an upstream (<c>devices:N:upstream</c>, docs/gateway.md):
/// the gateway provides them, <see cref="DeviceRegistry"/> puts them under their unit ids.
/// </summary>
public interface IUpstreamDevices
{
    /// <summary>Device <paramref name="name"/>: unit <paramref name="upstreamUnit"/> reached through upstream <paramref name="upstream"/>.</summary>
    IModbusDevice DeviceBehind(string name, string upstream, byte upstreamUnit);
}
