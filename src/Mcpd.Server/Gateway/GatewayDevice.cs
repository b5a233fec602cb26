using Mcpd.Server.Devices;

namespace Mcpd.Server.Gateway;

/// <summary>A configured device that is a real one: its requests go to <paramref name="upstreamUnit"/> through <paramref name="upstream"/>.</summary>
public sealed class GatewayDevice(string name, IModbusUpstream upstream, byte upstreamUnit) : IModbusDevice
{
    /// <summary>The name from config.</summary>
    public string Name { get; } = name;

    /// <summary>The link the requests travel through.</summary>
    public IModbusUpstream Upstream { get; } = upstream;

    /// <summary>The unit id on the upstream side.</summary>
    public byte UpstreamUnit { get; } = upstreamUnit;

    /// <inheritdoc />
    public ValueTask<int> ExecuteAsync(ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken) =>
        Upstream.ExecuteAsync(UpstreamUnit, request, response, caller, cancellationToken);
}
