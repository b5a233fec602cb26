using Mcpd.Client;
using Mcpd.Server.Routing;

namespace Mcpd.Server.Configuration;

/// <summary>The meaning of <c>routing</c> and <c>nodes</c> (part of <see cref="McpdOptionsValidator"/>).</summary>
internal static class RoutingValidation
{
    public static void Check(McpdOptions options, List<string> problems)
    {
        if (options.Routing.OverloadBackoff < TimeSpan.Zero || options.Routing.OverloadBackoff > TimeSpan.FromSeconds(10))
        {
            problems.Add($"routing:overloadBackoff: {options.Routing.OverloadBackoff} is outside 0..10 s");
        }

        foreach (var (name, lane) in options.Routing.Lanes)
        {
            if (lane.Workers is < 1 or > 1024)
            {
                problems.Add($"routing:lanes:{name}:workers: {lane.Workers} is outside 1..1024");
            }

            if (lane.Capacity is < 1 or > 1_000_000)
            {
                problems.Add($"routing:lanes:{name}:capacity: {lane.Capacity} is outside 1..1000000");
            }
        }

        foreach (var (name, node) in options.Nodes)
        {
            var path = $"nodes:{name}";
            if (!HostPort.TryParse(node.Address, out _))
            {
                problems.Add($"{path}:address: '{node.Address}' is not host:port");
            }

            if (node.Connections is < 1 or > 64)
            {
                problems.Add($"{path}:connections: {node.Connections} is outside 1..64");
            }

            if (node.RequestTimeout <= TimeSpan.Zero)
            {
                problems.Add($"{path}:requestTimeout: {node.RequestTimeout} must be positive");
            }

            if (node.HeartbeatInterval <= TimeSpan.Zero)
            {
                problems.Add($"{path}:heartbeatInterval: {node.HeartbeatInterval} must be positive");
            }
        }

        var deviceNames = options.EffectiveDevices.Select(d => d.Name ?? $"unit {d.Unit}").ToHashSet(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Routing.Rules.Count; i++)
        {
            var rule = options.Routing.Rules[i];
            var path = $"routing:rules:{i}";
            if (rule.Method is { Length: 0 })
            {
                problems.Add($"{path}:method: empty; leave it out to match any method");
            }

            foreach (var key in rule.Headers.Keys.Where(k => k.Length is 0 or > byte.MaxValue || k.Any(c => c is < '!' or > '~' || char.IsAsciiLetterUpper(c))))
            {
                problems.Add($"{path}:headers:{key}: header keys are 1..255 lowercase printable ASCII characters");
            }

            CheckTarget(rule.Target, $"{path}:target", options, deviceNames, problems);
        }

        if (options.Routing.Default is { } fallback)
        {
            CheckTarget(fallback, "routing:default", options, deviceNames, problems);
        }
    }

    private static void CheckTarget(string text, string path, McpdOptions options, HashSet<string> deviceNames, List<string> problems)
    {
        if (!RouteTargetText.TryParse(text, out var kind, out var name))
        {
            problems.Add($"{path}: '{text}' is not lane:NAME, device:NAME or forward:NODE");
            return;
        }

        var known = kind switch
        {
            RouteTargetText.Lane => options.Routing.Lanes.ContainsKey(name),
            RouteTargetText.Forward => options.Nodes.ContainsKey(name),
            _ => deviceNames.Contains(name),
        };
        if (!known)
        {
            var section = kind switch { RouteTargetText.Lane => "routing:lanes", RouteTargetText.Forward => "nodes", _ => "devices" };
            problems.Add($"{path}: no {kind} '{name}' in {section}");
        }
    }
}
