namespace Mcpd.Server.Connections;

/// <summary>What a listener does with a new connection when it already serves its maximum.</summary>
public enum ConnectionLimitPolicy
{
    /// <summary>Close the connection idle for the longest time to admit the new one (Implementation Guide 4.2.1).</summary>
    CloseOldestIdle,
    /// <summary>Close the new connection at once.</summary>
    Refuse,
}
