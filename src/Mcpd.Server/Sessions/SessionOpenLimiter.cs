using System.Net;
using Mcpd.Server.Connections;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Sessions;

/// <summary>
/// How many sessions one connection and one remote address may open on this node (docs/sessions.md, "Limits"): at most
/// <c>sessions.maxOpensPerConnection</c> and <c>sessions.maxOpensPerAddress</c> per <c>sessions.openInterval</c>, in
/// fixed windows that start with the first open. Sessions outlive connections, so a count of open sessions would have
/// to follow every close and expiry; a rate bounds what a peer can make the store hold over any TTL instead.
/// </summary>
internal sealed class SessionOpenLimiter(IOptionsMonitor<SessionsOptions> options, TimeProvider time)
{
    private readonly Lock _sync = new();

    /// <summary>Opens by "connection ID" and "address IP".</summary>
    private readonly FixedWindowCounts<string> _opens = new(time);

    /// <summary>
    /// Counts one <c>session.open</c> of <paramref name="connectionId"/> from <paramref name="address"/> (either may be
    /// unknown, then it is not limited); null when both had room, else why not (answered OVERLOADED), and nothing counted.
    /// </summary>
    public string? TryTake(string? connectionId, IPAddress? address)
    {
        var settings = options.CurrentValue;
        var interval = settings.OpenInterval;
        var byConnection = connectionId is null ? null : $"connection {connectionId}";
        var byAddress = address is null ? null : $"address {address}";
        lock (_sync)
        {
            if (byConnection is not null && _opens.Peek(byConnection, interval) is var connection && connection.Count >= settings.MaxOpensPerConnection)
            {
                return Refusal("this connection", connection, "maxOpensPerConnection", settings.MaxOpensPerConnection, interval);
            }

            if (byAddress is not null && _opens.Peek(byAddress, interval) is var fromAddress && fromAddress.Count >= settings.MaxOpensPerAddress)
            {
                return Refusal($"address {address}", fromAddress, "maxOpensPerAddress", settings.MaxOpensPerAddress, interval);
            }

            if (byConnection is not null)
            {
                _opens.Add(byConnection, interval);
            }

            if (byAddress is not null)
            {
                _opens.Add(byAddress, interval);
            }

            return null;
        }
    }

    private static string Refusal(string who, (int Count, TimeSpan Left) window, string setting, int limit, TimeSpan interval) =>
        $"{who} opened {window.Count} sessions in this interval; sessions.{setting} is {limit} per {interval}, retry in {Math.Ceiling(window.Left.TotalSeconds):0} s";
}
