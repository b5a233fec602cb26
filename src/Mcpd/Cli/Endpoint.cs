using Mcpd.Client;

namespace Mcpd.Cli;

/// <summary>The <c>endpoint</c> argument of the client commands, and the protocols' default ports.</summary>
internal static class Endpoint
{
    public const int DefaultModbusPort = 502;

    public const int DefaultMcpPort = 8080;

    /// <summary>HOST:PORT with <paramref name="defaultPort"/> when the port is left out.</summary>
    public static System.CommandLine.Argument<HostPort> Argument(int defaultPort) => new("endpoint")
    {
        Description = $"The server, HOST:PORT (port {defaultPort} when left out; [::1]:{defaultPort} for IPv6)",
        CustomParser = result =>
        {
            try
            {
                return HostPort.Parse(result.Tokens.Single().Value, defaultPort);
            }
            catch (FormatException ex)
            {
                result.AddError(ex.Message);
                return default;
            }
        },
    };
}
