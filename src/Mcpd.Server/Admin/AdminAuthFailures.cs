using System.Net;
using Mcpd.Server.Connections;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Admin;

/// <summary>Why an admin API request was refused before its caller was known.</summary>
internal enum AdminAuthenticationFailure
{
    /// <summary>No <c>Authorization: Bearer</c> credentials (401).</summary>
    MissingToken,

    /// <summary>A bearer token that is none of <c>admin:tokens</c> (401).</summary>
    UnknownToken,

    /// <summary>Its address failed too often in the current window (429); no token was looked at.</summary>
    RateLimited,
}

/// <summary>
/// Failed authentications per remote address (docs/security.md): counted in fixed windows of
/// <c>admin.authFailureWindow</c>; once an address has made <c>admin.maxAuthFailuresPerAddress</c> of them, its
/// requests are answered 429 until its window ends, so tokens cannot be guessed at the speed of the network. Each
/// failure is counted in <c>mcpd_admin_auth_failures_total</c>; the first of an address's window is logged, within
/// the host's budget for lines that peers cause (<see cref="ConnectionRegistry.Rejections"/>).
/// </summary>
internal sealed class AdminAuthFailures(IOptionsMonitor<AdminOptions> options, TimeProvider time, ConnectionRegistry connections, McpdMetrics metrics, ILoggerFactory loggers)
{
    private readonly Lock _sync = new();
    private readonly FixedWindowCounts<IPAddress> _failures = new(time);
    private readonly ILogger _logger = loggers.CreateLogger(AdminLog.Category);

    /// <summary>How long <paramref name="address"/> must wait before its requests are looked at again; zero: now.</summary>
    public TimeSpan RetryAfter(IPAddress? address)
    {
        if (address is null)
        {
            return TimeSpan.Zero;
        }

        var settings = options.CurrentValue;
        lock (_sync)
        {
            var (count, left) = _failures.Peek(address, settings.AuthFailureWindow);
            return count >= settings.MaxAuthFailuresPerAddress ? left : TimeSpan.Zero;
        }
    }

    /// <summary>Counts a request of <paramref name="address"/> refused for <paramref name="reason"/>; only refusals that looked at credentials count towards the limit.</summary>
    public void Record(IPAddress? address, AdminAuthenticationFailure reason)
    {
        metrics.AdminAuthenticationFailed(reason switch
        {
            AdminAuthenticationFailure.MissingToken => "missing_token",
            AdminAuthenticationFailure.UnknownToken => "unknown_token",
            _ => "rate_limited",
        });
        if (reason == AdminAuthenticationFailure.RateLimited)
        {
            return;
        }

        var settings = options.CurrentValue;
        int count;
        lock (_sync)
        {
            count = address is null ? 1 : _failures.Add(address, settings.AuthFailureWindow);
        }

        if (count == 1 && connections.Rejections.ShouldLog())
        {
            AdminLog.AuthenticationFailed(_logger, address?.ToString() ?? "a peer without an IP address", reason == AdminAuthenticationFailure.MissingToken ? "no bearer token" : "a token that is not in admin.tokens",
                settings.AuthFailureWindow, settings.MaxAuthFailuresPerAddress);
        }
    }
}
