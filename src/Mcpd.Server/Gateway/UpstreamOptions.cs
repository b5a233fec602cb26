namespace Mcpd.Server.Gateway;

/// <summary>One upstream (an entry of the config map <c>upstreams</c>, keyed by name).</summary>
public sealed class UpstreamOptions
{
    /// <summary>"tcp": a Modbus TCP device or gateway; "rtu": a Modbus RTU bus (serial line, or TCP to an RTU converter).</summary>
    public string Kind { get; set; } = UpstreamKinds.Tcp;

    /// <summary>host:port of a Modbus TCP device, or of an RTU-over-TCP converter; for an RTU bus on a serial line, null.</summary>
    public string? Address { get; set; }

    /// <summary>
    /// The deadline of one request, its retries included, from the moment the gateway takes it (on an RTU bus, from
    /// the moment the bus is the request's: before, it waits its turn in the queue); then it is answered 0x0B.
    /// Shorter by default than the timeouts of common clients (libmodbus 0.5 s, mbpoll 1 s), so that they hear the
    /// gateway's answer instead of timing out and retrying on top.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromMilliseconds(400);

    /// <summary>The health probe: a cheap read sent on the heartbeat interval.</summary>
    public UpstreamProbeOptions Probe { get; set; } = new();

    /// <summary>TLS to a Modbus TCP upstream (<see cref="Kind"/> "tcp"): off unless one of its keys is set.</summary>
    public UpstreamTlsOptions Tls { get; set; } = new();

    /// <summary>Settings of a Modbus TCP upstream (<see cref="Kind"/> "tcp").</summary>
    public TcpUpstreamOptions Tcp { get; set; } = new();

    /// <summary>Settings of an RTU bus (<see cref="Kind"/> "rtu").</summary>
    public RtuUpstreamOptions Rtu { get; set; } = new();
}

/// <summary>The values of <see cref="UpstreamOptions.Kind"/>.</summary>
public static class UpstreamKinds
{
    /// <summary>Modbus TCP.</summary>
    public const string Tcp = "tcp";

    /// <summary>Modbus RTU.</summary>
    public const string Rtu = "rtu";
}
