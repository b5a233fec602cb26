using Mcpd.Server.Devices;

namespace Mcpd.Server.Security;

/// <summary>
/// One rule of a role (config <c>security:roles:NAME:N</c>). A register rule (<see cref="Access"/>, narrowed by
/// <see cref="Units"/>, <see cref="Tables"/> and <see cref="Addresses"/>; each absent means all) allows reads or
/// writes of registers and coils; a method rule (<see cref="Methods"/>) allows calling MCP methods. A role's rules
/// only allow: the first that matches a request allows it, and a request no rule matches is refused.
/// </summary>
public sealed class AccessRuleOptions
{
    /// <summary>Read or write; required in a register rule, absent in a method rule.</summary>
    public AccessKind? Access { get; set; }

    /// <summary>Unit ids, as a list of numbers and ranges ("1", "1-5,7"); absent: every unit.</summary>
    public string? Units { get; set; }

    /// <summary>The tables the rule covers; absent: all four.</summary>
    public IList<RegisterTable>? Tables { get; set; }

    /// <summary>Zero-based addresses, as numbers and ranges ("0-99"); a request must lie wholly inside. Absent: every address.</summary>
    public string? Addresses { get; set; }

    /// <summary>MCP method names the rule allows; <c>*</c> matches any run of characters ("sys.*").</summary>
    public IList<string>? Methods { get; set; }
}
