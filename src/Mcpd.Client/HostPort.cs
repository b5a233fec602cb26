using System.Globalization;

namespace Mcpd.Client;

/// <summary>A network endpoint written HOST:PORT; "[::1]:5020" for IPv6, and HOST alone means a default port.</summary>
/// <param name="Host">A name or an IP address.</param>
/// <param name="Port">1..65535.</param>
public readonly record struct HostPort(string Host, int Port)
{
    /// <summary>Parses <paramref name="text"/>; HOST alone gets <paramref name="defaultPort"/>.</summary>
    /// <exception cref="FormatException">Not HOST, HOST:PORT or [IPv6]:PORT.</exception>
    public static HostPort Parse(string text, int defaultPort)
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
            return new HostPort(host, defaultPort);
        }

        return int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number is > 0 and <= 65535
            ? new HostPort(host, number)
            : throw new FormatException($"'{text}': '{port}' is not a port (1..65535).");
    }

    /// <summary>Parses HOST:PORT (a port is required); false when <paramref name="text"/> is not one.</summary>
    public static bool TryParse(string text, out HostPort endpoint)
    {
        try
        {
            endpoint = Parse(text, 0);
            return endpoint.Port > 0;
        }
        catch (FormatException)
        {
            endpoint = default;
            return false;
        }
    }

    /// <inheritdoc />
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
