using Mcpd.Server.Devices;

namespace Mcpd.Server.Security;

/// <summary>
/// The roles of <see cref="SecurityOptions"/>, compiled once per configuration so that a decision allocates
/// nothing. A role's rules only allow (first match); an unknown role, or none, is allowed nothing.
/// </summary>
public sealed class RolePolicy
{
    private readonly Dictionary<string, Rule[]> _roles;

    private RolePolicy(Dictionary<string, Rule[]> roles) => _roles = roles;

    /// <summary>A policy with no roles: every request of a client with a role to check is refused.</summary>
    public static RolePolicy Empty { get; } = new(new Dictionary<string, Rule[]>(StringComparer.OrdinalIgnoreCase));

    /// <summary>The role names, as configured.</summary>
    public IEnumerable<string> Roles => _roles.Keys;

    /// <summary>Compiles <paramref name="options"/>, which the configuration check has passed (<see cref="Problems"/> is empty).</summary>
    public static RolePolicy From(SecurityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var roles = new Dictionary<string, Rule[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, rules) in options.Roles)
        {
            roles[name] = [.. rules.Select(rule => Rule.From(rule, out _)!)];
        }

        return new RolePolicy(roles);
    }

    /// <summary>What is wrong with the rules of <paramref name="options"/>, as "security:roles:NAME:N: ..." lines.</summary>
    public static IEnumerable<string> Problems(SecurityOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var (name, rules) in options.Roles)
        {
            for (var i = 0; i < rules.Count; i++)
            {
                if (Rule.From(rules[i], out var problem) is null)
                {
                    yield return $"security:roles:{name}:{i}: {problem}";
                }
            }
        }
    }

    /// <summary>True when <paramref name="role"/> may read or write (<paramref name="access"/>) <paramref name="count"/> entries of <paramref name="table"/> from <paramref name="address"/> on <paramref name="unit"/>.</summary>
    public bool AllowsRegisters(string? role, AccessKind access, byte unit, RegisterTable table, int address, int count)
    {
        foreach (var rule in RulesOf(role))
        {
            if (rule.Covers(access, unit) && rule.CoversTable(table) && (rule.Addresses is null || rule.Addresses.Contains(address, address + count - 1)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when <paramref name="role"/> may make a request of <paramref name="unit"/> that names no register: with
    /// <paramref name="narrowedRulesCount"/>, any rule of the access kind for the unit counts (identification and
    /// diagnostics, which only read); without, only a rule narrowed by neither tables nor addresses (a function
    /// whose effect on the registers is not known, which a gateway passes to a real device).
    /// </summary>
    public bool AllowsDevice(string? role, AccessKind access, byte unit, bool narrowedRulesCount)
    {
        foreach (var rule in RulesOf(role))
        {
            if (rule.Covers(access, unit) && (narrowedRulesCount || (rule.Tables is null && rule.Addresses is null)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when <paramref name="role"/> has a register rule of <paramref name="access"/> at all (the admin API's reads and writes of state).</summary>
    public bool HasAccess(string? role, AccessKind access)
    {
        foreach (var rule in RulesOf(role))
        {
            if (rule.Access == access)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when a method rule of <paramref name="role"/> names <paramref name="method"/>.</summary>
    public bool AllowsMethod(string? role, ReadOnlySpan<char> method)
    {
        foreach (var rule in RulesOf(role))
        {
            foreach (var pattern in rule.Methods ?? [])
            {
                if (Glob.Matches(pattern, method))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private Rule[] RulesOf(string? role) => role is not null && _roles.TryGetValue(role, out var rules) ? rules : [];

    /// <summary>A rule compiled: null scopes mean all.</summary>
    private sealed record Rule(AccessKind? Access, NumberRanges? Units, RegisterTable[]? Tables, NumberRanges? Addresses, string[]? Methods)
    {
        public bool Covers(AccessKind access, byte unit) => Access == access && (Units is null || Units.Contains(unit, unit));

        public bool CoversTable(RegisterTable table) => Tables is null || Array.IndexOf(Tables, table) >= 0;

        /// <summary>The rule of <paramref name="options"/>, or null with the <paramref name="problem"/>.</summary>
        public static Rule? From(AccessRuleOptions options, out string? problem)
        {
            var hasScope = options.Units is not null || options.Tables is not null || options.Addresses is not null;
            if (options.Methods is not null)
            {
                problem = options.Access is not null || hasScope
                    ? "a rule names either methods (MCP methods it allows) or access with units, tables and addresses (registers), not both"
                    : options.Methods.Count == 0 || options.Methods.Any(string.IsNullOrWhiteSpace) ? "methods: name at least one method, none empty" : null;
                return problem is null ? new Rule(null, null, null, null, [.. options.Methods]) : null;
            }

            if (options.Access is null)
            {
                problem = "access: read or write is missing (or name methods)";
                return null;
            }

            NumberRanges? units = null, addresses = null;
            problem = options.Units is not null && !NumberRanges.TryParse(options.Units, byte.MaxValue, out units, out var unitProblem) ? $"units: {unitProblem}"
                : options.Addresses is not null && !NumberRanges.TryParse(options.Addresses, ushort.MaxValue, out addresses, out var addressProblem) ? $"addresses: {addressProblem}"
                : options.Tables is { Count: 0 } ? "tables: name at least one table (or leave it out for all four)"
                : null;
            return problem is null ? new Rule(options.Access, units, options.Tables is null ? null : [.. options.Tables], addresses, null) : null;
        }
    }

    /// <summary>Names with <c>*</c> for any run of characters, compared ordinally (method names are case-sensitive).</summary>
    private static class Glob
    {
        public static bool Matches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
        {
            var star = pattern.IndexOf('*');
            if (star < 0)
            {
                return pattern.SequenceEqual(text);
            }

            if (!text.StartsWith(pattern[..star]))
            {
                return false;
            }

            var rest = pattern[(star + 1)..];
            for (var at = star; at <= text.Length; at++)
            {
                if (Matches(rest, text[at..]))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
