using Microsoft.Extensions.Options;

namespace Mcpd.Server.Security;

/// <summary>
/// The <see cref="RolePolicy"/> of the current <c>security</c> section: compiled again only when a reload hands out
/// new options (the monitor returns the same instance until then), so a decision costs no compilation.
/// </summary>
internal sealed class RolePolicySource(IOptionsMonitor<SecurityOptions> options)
{
    private Compiled? _compiled;

    /// <summary>The policy of the options in force now.</summary>
    public RolePolicy Current
    {
        get
        {
            var settings = options.CurrentValue;
            var compiled = _compiled;
            if (compiled is null || !ReferenceEquals(compiled.Options, settings))
            {
                // Racing readers may both compile; either result is the same policy, and a reference write is atomic.
                _compiled = compiled = new Compiled(settings, RolePolicy.From(settings));
            }

            return compiled.Policy;
        }
    }

    private sealed record Compiled(SecurityOptions Options, RolePolicy Policy);
}
