namespace Mcpd.Server.Security;

/// <summary>Who may do what (config section <c>security</c>, docs/security.md).</summary>
public sealed class SecurityOptions
{
    /// <summary>
    /// Rules by role name (compared ignoring case). A client's role comes from its certificate's Modbus/TCP Security
    /// role extension (OID 1.3.6.1.4.1.50316.802.1) or from the admin token it presents.
    /// </summary>
    public IDictionary<string, IList<AccessRuleOptions>> Roles { get; init; } = new Dictionary<string, IList<AccessRuleOptions>>(StringComparer.OrdinalIgnoreCase);
}
