namespace Mcpd.Cli;

/// <summary>Process exit codes, documented in docs/configuration.md.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>A request failed: Modbus exception, timeout, connection refused.</summary>
    public const int RequestFailed = 1;

    /// <summary>The configuration (file, environment or flags) is invalid.</summary>
    public const int BadConfiguration = 2;

    /// <summary>A listener could not bind its address (port in use, permission).</summary>
    public const int CannotListen = 3;
}
