namespace Mcpd.Server.Gateway;

/// <summary>
/// The health probe of an upstream: every <see cref="Interval"/>, read <see cref="Count"/> holding registers (FC03)
/// at <see cref="Address"/> of <see cref="Unit"/>. Any answer, exception PDUs included, proves the device alive.
/// </summary>
public sealed class UpstreamProbeOptions
{
    /// <summary>How often; zero turns probing off.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The unit to probe on the upstream side.</summary>
    public int Unit { get; set; } = 1;

    /// <summary>The first holding register read.</summary>
    public int Address { get; set; }

    /// <summary>Registers read (1..125).</summary>
    public int Count { get; set; } = 1;
}
