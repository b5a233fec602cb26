using System.Security.Claims;
using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Mcpd.Server.Security;
using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Mcpd.Server.Admin;

/// <summary>
/// What an admin API caller may do (docs/security.md): a GET needs a role with a read rule (<see cref="ReadPolicy"/>),
/// a change one with a write rule (<see cref="WritePolicy"/>), and a register read or write must then be allowed for
/// its range as the same Modbus request would be. A refusal is a 403 naming what was missing, counted in
/// <c>mcpd_requests_denied_total{listener="admin"}</c> and logged within the host's budget for lines that peers
/// cause; an allowed register write is an audit line (category <see cref="SecurityLog.AuditCategory"/>).
/// </summary>
internal sealed class AdminAccess(RolePolicies roles, ConnectionRegistry connections, McpdMetrics metrics, ILoggerFactory loggers)
{
    /// <summary>The policy of endpoints that read: a role with a read rule.</summary>
    public const string ReadPolicy = "mcpd-admin-read";

    /// <summary>The policy of endpoints that change something: a role with a write rule.</summary>
    public const string WritePolicy = "mcpd-admin-write";

    private readonly ILogger _logger = loggers.CreateLogger(AdminLog.Category);
    private readonly ILogger _audit = loggers.CreateLogger(SecurityLog.AuditCategory);

    /// <summary>Null when <paramref name="user"/> may read or write <paramref name="count"/> entries from <paramref name="address"/>; else what is missing.</summary>
    public string? Refusal(ClaimsPrincipal user, AccessKind access, byte unit, RegisterTable table, int address, int count) =>
        AdminCaller.IsUnrestricted(user) || roles.Current.AllowsRegisters(AdminCaller.IdentityOf(user).Role, access, unit, table, address, count)
            ? null
            : $"{AdminCaller.IdentityOf(user)} has no {Verb(access)} access to {table.ToString().ToLowerInvariant()} {Range(address, count)} of unit {unit}";

    /// <summary>Null when <paramref name="user"/> has <paramref name="access"/> at all; else what is missing.</summary>
    public string? Refusal(ClaimsPrincipal user, AccessKind access) =>
        AdminCaller.IsUnrestricted(user) || roles.Current.HasAccess(AdminCaller.IdentityOf(user).Role, access)
            ? null
            : $"{AdminCaller.IdentityOf(user)} has no {Verb(access)} access";

    /// <summary>The 403 for <paramref name="refusal"/>, with RFC 6750 3.1's <c>insufficient_scope</c> challenge.</summary>
    public IResult Forbidden(HttpContext context, string refusal)
    {
        metrics.RequestDenied(ListenerNames.Admin);
        if (connections.Rejections.ShouldLog())
        {
            var path = context.Request.Path.ToString();
            AdminLog.Refused(_logger, context.Request.Method, path, refusal);
        }

        context.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer error=\"insufficient_scope\"";
        return AdminErrors.Json(StatusCodes.Status403Forbidden, refusal);
    }

    /// <summary>
    /// The audit line of a register write: who wrote what, as every listener writes it; <paramref name="through"/>
    /// names the way in (the admin API, or its agent endpoint).
    /// </summary>
    public void Written(ClaimsPrincipal user, byte unit, RegisterTable table, int address, int count, string through = ListenerNames.Admin)
    {
        if (_audit.IsEnabled(LogLevel.Information))
        {
            var caller = AdminCaller.IdentityOf(user);
            AdminLog.Written(_audit, through, caller.Name, caller.Role ?? "none", unit, table, address, count);
        }
    }

    private static string Verb(AccessKind access) => access == AccessKind.Read ? "read" : "write";

    private static string Range(int address, int count) => count == 1 ? $"{address}" : $"{address}..{address + count - 1}";
}

/// <summary>A read or a write rule, required of the caller's role by <see cref="AdminAccess.ReadPolicy"/> or <see cref="AdminAccess.WritePolicy"/>.</summary>
internal sealed class AdminAccessRequirement(AccessKind access) : IAuthorizationRequirement
{
    public AccessKind Access { get; } = access;
}

/// <summary>Decides <see cref="AdminAccessRequirement"/> for an authenticated caller; the reason of a failure is the 403's message.</summary>
internal sealed class AdminAccessHandler(AdminAccess access) : AuthorizationHandler<AdminAccessRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, AdminAccessRequirement requirement)
    {
        if (context.User.Identity is not { IsAuthenticated: true })
        {
            // Nobody to decide for: the middleware challenges (401 or 429).
            return Task.CompletedTask;
        }

        if (access.Refusal(context.User, requirement.Access) is { } refusal)
        {
            context.Fail(new AuthorizationFailureReason(this, refusal));
        }
        else
        {
            context.Succeed(requirement);
        }

        return Task.CompletedTask;
    }
}

/// <summary>Answers a forbidden request with a JSON 403 that says what was missing; a challenge goes to <see cref="AdminAuthenticationHandler"/>.</summary>
internal sealed class AdminAuthorizationResults(AdminAccess access) : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _challenges = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (!authorizeResult.Forbidden)
        {
            await _challenges.HandleAsync(next, context, policy, authorizeResult);
            return;
        }

        var refusal = string.Join("; ", authorizeResult.AuthorizationFailure?.FailureReasons.Select(reason => reason.Message) ?? []);
        await access.Forbidden(context, refusal).ExecuteAsync(context);
    }
}
