using System.Security.Claims;

namespace Mcpd.Server.Admin;

/// <summary>
/// Who made an admin API request and in which role of <c>security:roles</c>: the principal that
/// <see cref="AdminAuthenticationHandler"/> makes: a name for logs and a role for the <see cref="AdminAccess"/> decisions.
/// </summary>
internal static class AdminCaller
{
    /// <summary>
    /// How a caller is known when no token is configured: anyone who reaches the listener, which the configuration
    /// check allows on loopback only; such a caller may do everything, as before roles existed.
    /// </summary>
    public const string Open = "open";

    /// <summary>How a caller who presented a configured token is known (RFC 6750).</summary>
    public const string BearerToken = "Bearer";

    /// <summary>The caller of a listener without tokens.</summary>
    public static ClaimsPrincipal Anyone() => Principal("anyone on this host", role: null, Open);

    /// <summary>A caller named <paramref name="name"/> acting in <paramref name="role"/>, known by <paramref name="authenticationType"/>.</summary>
    public static ClaimsPrincipal Principal(string name, string? role, string authenticationType)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name) };
        if (role is not null)
        {
            claims.Add(new Claim(ClaimTypes.Role, role));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType));
    }

    /// <summary>The caller as logs and errors name it: "ops-dashboard (role Operator)"; never a token.</summary>
    public static string Describe(ClaimsPrincipal user) =>
        RoleOf(user) is { } role ? $"{user.Identity?.Name} (role {role})" : user.Identity?.Name ?? "nobody";

    /// <summary>True for the caller of a listener without tokens, who may do everything.</summary>
    public static bool IsUnrestricted(ClaimsPrincipal user) => user.Identity is { IsAuthenticated: true, AuthenticationType: Open };

    /// <summary>The caller's role; null for <see cref="Anyone"/>.</summary>
    public static string? RoleOf(ClaimsPrincipal user) => user.FindFirst(ClaimTypes.Role)?.Value;
}
