using Mcpd.Server.Devices;

namespace Mcpd.Server.Gateway;

/// <summary>
/// A link to real Modbus devices (config section <c>upstreams</c>): a Modbus TCP device or gateway reached over a
/// connection pool, or an RTU bus (serial line, or TCP to an RTU converter) shared by the units on it. Gateway
/// devices (<see cref="GatewayDevice"/>) send their requests through it. Implementations never throw for a device
/// problem: a dead, slow or broken upstream is answered with a gateway exception PDU (0x0A, 0x0B) or 0x06 (busy),
/// as Application Protocol 7 describes. Every answer an implementation gives in the device's place is written with
/// <see cref="ModbusCaller.AnswerInDevicesPlace"/>, so a caller that asks (<see cref="ModbusCaller.AnswerOrigin"/>)
/// can tell mcpd's exceptions from the device's own.
/// </summary>
public interface IModbusUpstream : IAsyncDisposable
{
    /// <summary>The name in config.</summary>
    string Name { get; }

    /// <summary>The kind, as written in config (<see cref="UpstreamOptions.Kind"/>).</summary>
    string Kind { get; }

    /// <summary>Where the devices are reached, as written in config: host:port, or the serial port of an RTU bus on a serial line.</summary>
    string? Address { get; }

    /// <summary>Health as last observed (requests and probes).</summary>
    UpstreamState State { get; }

    /// <summary>
    /// Sends <paramref name="request"/> (a PDU) to <paramref name="unit"/> behind this upstream and writes the
    /// response PDU into <paramref name="response"/>; returns its length, or 0 for a broadcast (unit 0), which is
    /// sent and not answered.
    /// </summary>
    ValueTask<int> ExecuteAsync(byte unit, ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken);

    /// <summary>Starts background work: minimum idle connections, health probes.</summary>
    Task StartAsync(CancellationToken cancellationToken);
}
