using System.Diagnostics;
using Mcpd.Server.Devices;
using Mcpd.Server.Telemetry;

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
    /// <remarks>
    /// Every upstream call passes here: under a sampled request span it gets a span of its own (upstream, unit,
    /// function); otherwise the call goes straight through, allocating nothing of ours.
    /// </remarks>
    public ValueTask<int> ExecuteAsync(ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken) =>
        McpdTracing.InRequestSpan
            ? ExecuteTracedAsync(request, response, caller, cancellationToken)
            : Upstream.ExecuteAsync(UpstreamUnit, request, response, caller, cancellationToken);

    /// <summary>The call under a span of its own; started in here, so the caller's current span is left alone.</summary>
    private async ValueTask<int> ExecuteTracedAsync(ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken)
    {
        using var span = McpdTracing.StartStep("mcpd.upstream", ActivityKind.Client, "mcpd.upstream", Upstream.Name);
        span?.SetTag("modbus.unit", UpstreamUnit);
        span?.SetTag("modbus.function", request.Span.IsEmpty ? 0 : request.Span[0]);
        try
        {
            return await Upstream.ExecuteAsync(UpstreamUnit, request, response, caller, cancellationToken);
        }
        catch (Exception ex)
        {
            span?.SetStatus(ActivityStatusCode.Error, ex.Message);
            throw;
        }
    }
}
