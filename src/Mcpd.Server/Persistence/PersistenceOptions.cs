namespace Mcpd.Server.Persistence;

/// <summary>
/// Persistence of what clients wrote to simulated devices (config section <c>persistence</c>,
/// docs/configuration.md): off unless <see cref="File"/> is set. Read at start; a change applies on restart.
/// </summary>
public sealed class PersistenceOptions
{
    /// <summary>The state file, absolute or relative to the working directory; empty: nothing is saved or restored.</summary>
    public string? File { get; set; }

    /// <summary>How often the state is saved when a client wrote since the last save; also what a crash can lose.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);
}
