using System.Security.Claims;
using Mcpd.Server.Security;

namespace Mcpd.Server.Admin;

/// <summary>
/// Who made an admin API request and in which role of <c>security:roles</c>: the principal that
/// <see cref="AdminAuthenticationHandler"/> makes of a <see cref="ClientIdentity"/> (a token's name and role, or a
/// client certificate's subject and role), for logs and for the <see cref="AdminAccess"/> decisions.
/// </summary>
internal static class AdminCaller
{
    /// <summary>
    /// How a caller is known when no token and no client certificate is configured: anyone who reaches the listener,
    /// which the configuration check allows on loopback only; such a caller may do everything.
    /// </summary>
    public const string Open = "open";

    /// <summary>How a caller who presented a configured token is known (RFC 6750).</summary>
    public const string BearerToken = "Bearer";

    /// <summary>How a caller known by its TLS client certificate (<c>admin:tls:clientCa</c>) is known.</summary>
    public const string ClientCertificate = "certificate";

    /// <summary>The caller of a listener without tokens or client certificates.</summary>
    public static ClaimsPrincipal Anyone() => Principal(new ClientIdentity("anyone on this host", Role: null), Open);

    /// <summary><paramref name="identity"/> as a principal known by <paramref name="authenticationType"/>.</summary>
    public static ClaimsPrincipal Principal(ClientIdentity identity, string authenticationType)
    {
        // The name identifies the caller too: the agent endpoint's sessions (Model Context Protocol SDK) belong to it,
        // and a request of another caller cannot use them.
        var claims = new List<Claim> { new(ClaimTypes.Name, identity.Name), new(ClaimTypes.NameIdentifier, identity.Name) };
        if (identity.Role is not null)
        {
            claims.Add(new Claim(ClaimTypes.Role, identity.Role));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, authenticationType));
    }

    /// <summary>Who <paramref name="user"/> is: its name ("ops-dashboard", never a token) and role.</summary>
    public static ClientIdentity IdentityOf(ClaimsPrincipal user) =>
        new(user.Identity?.Name ?? "nobody", user.FindFirst(ClaimTypes.Role)?.Value);

    /// <summary>True for the caller of a listener without tokens or client certificates, who may do everything.</summary>
    public static bool IsUnrestricted(ClaimsPrincipal user) => user.Identity is { IsAuthenticated: true, AuthenticationType: Open };
}
