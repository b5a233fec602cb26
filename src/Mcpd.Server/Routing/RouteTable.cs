using System.Buffers;
using System.IO.Enumeration;
using System.Text;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Server.Routing;

/// <summary>
/// The routing rules as compiled from config, immutable: <see cref="McpRouter"/> swaps a whole new table in when the
/// configuration changes, so a request is always routed by one consistent set of rules. Matching allocates nothing.
/// </summary>
internal sealed class RouteTable
{
    private readonly RouteRule[] _rules;

    private RouteTable(RouteRule[] rules, RouteTarget? fallback)
    {
        _rules = rules;
        Default = fallback;
    }

    /// <summary>No rules, no default.</summary>
    public static RouteTable Empty { get; } = new([], null);

    /// <summary>Where requests go that match no rule and no method of this node; null: NOT_FOUND.</summary>
    public RouteTarget? Default { get; }

    /// <summary>
    /// Builds the table of <paramref name="options"/>; <paramref name="resolve"/> finds the target of a kind and name
    /// (null when there is none). Returns null with <paramref name="problems"/> when a target cannot be resolved.
    /// </summary>
    public static RouteTable? Build(RoutingOptions options, Func<string, string, RouteTarget?> resolve, List<string> problems)
    {
        var rules = new RouteRule[options.Rules.Count];
        for (var i = 0; i < rules.Length; i++)
        {
            var rule = options.Rules[i];
            var target = Resolve(rule.Target, $"routing:rules:{i}:target", resolve, problems);
            var headers = rule.Headers.Select(h => new HeaderCondition(Encoding.ASCII.GetBytes(h.Key), h.Value)).ToArray();
            rules[i] = new RouteRule(rule.Method, headers, target!);
        }

        var fallback = options.Default is null ? null : Resolve(options.Default, "routing:default", resolve, problems);
        return problems.Count == 0 ? new RouteTable(rules, fallback) : null;
    }

    /// <summary>The target of the first rule that matches, or null.</summary>
    public RouteTarget? Match(ReadOnlySpan<char> method, in McpHeaders headers)
    {
        foreach (var rule in _rules)
        {
            if (rule.Matches(method, headers))
            {
                return rule.Target;
            }
        }

        return null;
    }

    private static RouteTarget? Resolve(string text, string path, Func<string, string, RouteTarget?> resolve, List<string> problems)
    {
        if (!RouteTargetText.TryParse(text, out var kind, out var name))
        {
            problems.Add($"{path}: '{text}' is not lane:NAME, device:NAME or forward:NODE");
            return null;
        }

        var target = resolve(kind, name);
        if (target is null)
        {
            problems.Add($"{path}: there is no {kind} '{name}'");
        }

        return target;
    }

    private sealed record RouteRule(string? MethodPattern, HeaderCondition[] Headers, RouteTarget Target)
    {
        public bool Matches(ReadOnlySpan<char> method, in McpHeaders headers)
        {
            if (MethodPattern is not null && !FileSystemName.MatchesSimpleExpression(MethodPattern, method, ignoreCase: false))
            {
                return false;
            }

            foreach (var condition in Headers)
            {
                if (!condition.Holds(headers))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>A header that must exist (pattern <c>*</c>) or whose value must match a glob.</summary>
    private sealed record HeaderCondition(byte[] Key, string Pattern)
    {
        private const int StackLimit = 256;

        public bool Holds(in McpHeaders headers)
        {
            if (!headers.TryFind(Key, out var value))
            {
                return false;
            }

            if (Pattern == "*")
            {
                return true;
            }

            var length = (int)value.Length;
            char[]? rented = null;
            var chars = length <= StackLimit ? stackalloc char[StackLimit] : rented = ArrayPool<char>.Shared.Rent(length);
            try
            {
                var written = Encoding.UTF8.GetChars(value, chars);
                return FileSystemName.MatchesSimpleExpression(Pattern, chars[..written], ignoreCase: false);
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<char>.Shared.Return(rented);
                }
            }
        }
    }
}
