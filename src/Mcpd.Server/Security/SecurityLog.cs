namespace Mcpd.Server.Security;

/// <summary>Where security decisions are logged.</summary>
public static class SecurityLog
{
    /// <summary>The log category of audit lines (allowed writes by clients that proved who they are): route or silence it by this name.</summary>
    public const string AuditCategory = "Mcpd.Audit";
}
