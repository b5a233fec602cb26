namespace Mcpd.Cli;

/// <summary>Process exit codes, documented in docs/configuration.md.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>A request failed: Modbus exception, timeout, connection refused, a refused TLS handshake.</summary>
    public const int RequestFailed = 1;

    /// <summary>
    /// The configuration (file, environment or flags) is invalid; for <c>mcpd cert</c>, also a CA that is missing or
    /// unusable, a file it would overwrite without <c>--force</c>, or a directory it cannot write; for a client
    /// command, a TLS file (<c>--ca</c>, <c>--cert</c>, <c>--key</c>) that is missing or unusable.
    /// </summary>
    public const int BadConfiguration = 2;

    /// <summary>A listener could not bind its address (port in use, permission).</summary>
    public const int CannotListen = 3;

    /// <summary>Another live mcpd announces this node's <c>cluster.nodeId</c> in the session store.</summary>
    public const int NodeIdInUse = 4;
}
