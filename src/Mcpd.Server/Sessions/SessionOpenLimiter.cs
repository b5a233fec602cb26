using System.Net;
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

    /// <summary>Windows by "connection ID" and "address IP"; one ended an interval ago is pruned at most once per interval.</summary>
    private readonly Dictionary<string, Window> _windows = new(StringComparer.Ordinal);
    private long _nextPrune;

    /// <summary>
    /// Counts one <c>session.open</c> of <paramref name="connectionId"/> from <paramref name="address"/> (either may be
    /// unknown, then it is not limited); null when both had room, else why not (answered OVERLOADED), and nothing counted.
    /// </summary>
    public string? TryTake(string? connectionId, IPAddress? address)
    {
        var settings = options.CurrentValue;
        var now = time.GetTimestamp();
        var interval = (long)(settings.OpenInterval.TotalSeconds * time.TimestampFrequency);
        lock (_sync)
        {
            if (now >= _nextPrune)
            {
                foreach (var (key, window) in _windows.Where(w => now - w.Value.Start >= interval).ToList())
                {
                    _windows.Remove(key);
                }

                _nextPrune = now + interval;
            }

            var byConnection = connectionId is null ? null : WindowOf($"connection {connectionId}", now, interval);
            var byAddress = address is null ? null : WindowOf($"address {address}", now, interval);
            if (byConnection?.Count >= settings.MaxOpensPerConnection)
            {
                return Refusal("this connection", byConnection, "maxOpensPerConnection", settings.MaxOpensPerConnection, now, interval);
            }

            if (byAddress?.Count >= settings.MaxOpensPerAddress)
            {
                return Refusal($"address {address}", byAddress, "maxOpensPerAddress", settings.MaxOpensPerAddress, now, interval);
            }

            byConnection?.Take();
            byAddress?.Take();
            return null;
        }
    }

    private Window WindowOf(string key, long now, long interval)
    {
        if (!_windows.TryGetValue(key, out var window))
        {
            _windows[key] = window = new Window { Start = now };
        }
        else if (now - window.Start >= interval)
        {
            (window.Start, window.Count) = (now, 0);
        }

        return window;
    }

    private string Refusal(string who, Window window, string setting, int limit, long now, long interval)
    {
        var retryIn = TimeSpan.FromSeconds(Math.Ceiling((double)(window.Start + interval - now) / time.TimestampFrequency));
        return $"{who} opened {window.Count} sessions in this interval; sessions.{setting} is {limit} per {options.CurrentValue.OpenInterval}, retry in {retryIn.TotalSeconds:0} s";
    }

    /// <summary>Opens counted since <see cref="Start"/> (a timestamp of the <see cref="TimeProvider"/>).</summary>
    private sealed class Window
    {
        public long Start { get; set; }

        public int Count { get; set; }

        public void Take() => Count++;
    }
}
