using System.Globalization;

namespace Mcpd.Cli;

/// <summary>A HOST:PORT argument; "[::1]:5020" for IPv6, and HOST alone means the protocol's default port.</summary>
internal readonly record struct Endpoint(string Host, int Port)
{
    public const int DefaultModbusPort = 502;

    public const int DefaultMcpPort = 8080;

    public static Endpoint Parse(string text) => Parse(text, DefaultModbusPort);

    public static Endpoint Parse(string text, int defaultPort)
    {
        ArgumentNullException.ThrowIfNull(text);
        string host;
        string? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new FormatException($"'{text}': missing ']' after the IPv6 address.");
            }

            host = text[1..close];
            if (close + 1 < text.Length)
            {
                port = text[(close + 1)..].StartsWith(':') ? text[(close + 2)..] : throw new FormatException($"'{text}': expected ':' after ']'.");
            }
        }
        else
        {
            var colon = text.LastIndexOf(':');
            (host, port) = colon < 0 ? (text, null) : (text[..colon], text[(colon + 1)..]);
        }

        if (host.Length == 0)
        {
            throw new FormatException($"'{text}': the host is empty.");
        }

        if (port is null)
        {
            return new Endpoint(host, defaultPort);
        }

        return int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is > 0 and <= 65535
            ? new Endpoint(host, number)
            : throw new FormatException($"'{text}': '{port}' is not a port (1..65535).");
    }

    /// <summary>The <c>endpoint</c> argument of a client command, HOST:PORT with <paramref name="defaultPort"/>.</summary>
    public static System.CommandLine.Argument<Endpoint> Argument(int defaultPort) => new("endpoint")
    {
        Description = $"The server, HOST:PORT (port {defaultPort} when left out; [::1]:{defaultPort} for IPv6)",
        CustomParser = result =>
        {
            try
            {
                return Parse(result.Tokens.Single().Value, defaultPort);
            }
            catch (FormatException ex)
            {
                result.AddError(ex.Message);
                return default;
            }
        },
    };

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
