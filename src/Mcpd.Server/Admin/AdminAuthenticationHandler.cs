using System.Globalization;
using System.Text.Encodings.Web;
using Mcpd.Server.Connections;
using Mcpd.Server.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Mcpd.Server.Admin;

/// <summary>
/// The one place that decides who an admin API request comes from and in which role (docs/security.md): the client
/// certificate of its connection when <c>admin:tls:clientCa</c> asks for one (<see cref="IClientIdentityFeature"/>,
/// set by the listener's TLS layer); else, with no <c>admin:tokens</c>, anyone (<see cref="AdminCaller.Anyone"/>; the
/// listener is then on loopback); else the token of its <c>Authorization: Bearer</c> header (RFC 6750, section 2.1),
/// found by its SHA-256. A request that names no known token is challenged with 401 and <c>WWW-Authenticate:
/// Bearer</c> (RFC 6750, section 3), or 429 while its address has failed too often (<see cref="AdminAuthFailures"/>).
/// What the caller may then do is decided by the authorization policies (<see cref="AdminAccess"/>); the endpoints
/// see only the principal, whichever source made it.
/// </summary>
internal sealed class AdminAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemes, ILoggerFactory loggers, UrlEncoder encoder, IOptionsMonitor<AdminOptions> admin, AdminAuthFailures failures)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemes, loggers, encoder)
{
    /// <summary>The scheme's name, the default of the admin listener.</summary>
    public const string SchemeName = "mcpd-admin";

    private const string BearerPrefix = "Bearer ";

    /// <summary>Why this request was not authenticated, for the challenge; null when it was.</summary>
    private AdminAuthenticationFailure? _failure;
    private TimeSpan _retryAfter;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Context.Features.Get<IClientIdentityFeature>() is { } certificate)
        {
            return Task.FromResult(Success(AdminCaller.Principal(certificate.Identity, AdminCaller.ClientCertificate)));
        }

        var settings = admin.CurrentValue;
        var tokens = AdminTokens.From(settings);
        if (!tokens.Any && settings.Tls.ClientCa is null)
        {
            return Task.FromResult(Success(AdminCaller.Anyone()));
        }

        _retryAfter = failures.RetryAfter(RemoteAddress.Of(Context.Connection.RemoteIpAddress));
        if (_retryAfter > TimeSpan.Zero)
        {
            return Task.FromResult(Failure(AdminAuthenticationFailure.RateLimited, "too many failed authentications from this address"));
        }

        // RFC 6750 2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 11.1).
        var authorization = Request.Headers.Authorization;
        var credentials = authorization.Count == 1 ? authorization[0].AsSpan() : [];
        if (!credentials.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) || credentials[BearerPrefix.Length..].Trim(' ').IsEmpty)
        {
            // No credentials is not a failure of the scheme (a probe, a preflight): the endpoint decides whether it needs any.
            _failure = AdminAuthenticationFailure.MissingToken;
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        return Task.FromResult(tokens.TryFind(credentials[BearerPrefix.Length..].Trim(' '), out var name, out var role)
            ? Success(AdminCaller.Principal(new ClientIdentity(name, role), AdminCaller.BearerToken))
            : Failure(AdminAuthenticationFailure.UnknownToken, "unknown bearer token"));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        await HandleAuthenticateOnceSafeAsync();
        var failure = _failure ?? AdminAuthenticationFailure.MissingToken;
        failures.Record(RemoteAddress.Of(Context.Connection.RemoteIpAddress), failure);
        if (failure == AdminAuthenticationFailure.RateLimited)
        {
            // RFC 6585 4: 429 Too Many Requests, with Retry-After in seconds (RFC 9110 10.2.3).
            var seconds = (int)Math.Ceiling(_retryAfter.TotalSeconds);
            Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await AdminErrors.WriteAsync(Context, StatusCodes.Status429TooManyRequests,
                $"too many failed authentications from this address (admin.maxAuthFailuresPerAddress); retry in {seconds} s");
            return;
        }

        // RFC 6750 3: a request without credentials gets the bare challenge; one with a wrong token, error="invalid_token".
        Response.Headers[HeaderNames.WWWAuthenticate] = failure == AdminAuthenticationFailure.UnknownToken ? "Bearer error=\"invalid_token\"" : "Bearer";
        await AdminErrors.WriteAsync(Context, StatusCodes.Status401Unauthorized, failure == AdminAuthenticationFailure.UnknownToken
            ? "the bearer token is not one of admin.tokens"
            : "this server needs a bearer token: send Authorization: Bearer TOKEN (docs/security.md)");
    }

    private static AuthenticateResult Success(System.Security.Claims.ClaimsPrincipal caller) =>
        AuthenticateResult.Success(new AuthenticationTicket(caller, SchemeName));

    private AuthenticateResult Failure(AdminAuthenticationFailure failure, string message)
    {
        _failure = failure;
        return AuthenticateResult.Fail(message);
    }
}
