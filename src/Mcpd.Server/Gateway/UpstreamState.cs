namespace Mcpd.Server.Gateway;

/// <summary>Health of an upstream, as logs, <c>sys.info</c> and metrics show it.</summary>
public enum UpstreamState
{
    /// <summary>Answering.</summary>
    Up,
    /// <summary>Answering, but recent requests failed or units are quarantined.</summary>
    Degraded,
    /// <summary>The circuit breaker is open: requests are answered 0x0B at once until a probe succeeds.</summary>
    CircuitOpen,
    /// <summary>Unreachable; reconnecting with backoff.</summary>
    Down,
}
