using Microsoft.Extensions.Options;

namespace Mcpd.Server.Security;

/// <summary>The <see cref="RolePolicy"/> of the running configuration, compiled again when <c>security</c> changes.</summary>
public sealed class RolePolicies : IDisposable
{
    private readonly IDisposable? _subscription;
    private volatile RolePolicy _current;

    /// <summary>Follows <paramref name="options"/>.</summary>
    public RolePolicies(IOptionsMonitor<SecurityOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _current = RolePolicy.From(options.CurrentValue);
        _subscription = options.OnChange(changed => _current = RolePolicy.From(changed));
    }

    /// <summary>The policy a request decided now is decided by.</summary>
    public RolePolicy Current => _current;

    /// <inheritdoc />
    public void Dispose() => _subscription?.Dispose();
}
