using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Configuration;

/// <summary>
/// Hot reload with a gate: the running server reads <see cref="Configuration"/>, a copy of the layered sources that
/// only moves forward when a whole new configuration passes <see cref="McpdOptionsValidator.CheckConfiguration(IConfiguration)"/>
/// (<see cref="TryApply"/>). Options monitors, routing and log levels never see an invalid one.
/// </summary>
public sealed class ReloadGate : IDisposable
{
    private readonly TreeConfigurationProvider _provider;

    /// <summary>Starts from <paramref name="initial"/>, checked by the caller.</summary>
    public ReloadGate(IConfiguration initial)
    {
        ArgumentNullException.ThrowIfNull(initial);
        _provider = new TreeConfigurationProvider(ConfigurationTree.Of(initial));
        Configuration = new ConfigurationRoot([_provider]);
    }

    /// <summary>The configuration the server runs on: the last valid state of the sources.</summary>
    public IConfigurationRoot Configuration { get; }

    /// <summary>
    /// Checks <paramref name="candidate"/> whole and, when it has no problem, makes it the running configuration:
    /// the options monitors rebind and their listeners apply it before this returns. A cancellation before the
    /// swap leaves the running configuration as it was.
    /// </summary>
    /// <returns>The problems that kept it out; empty when it was applied.</returns>
    public IReadOnlyList<string> TryApply(IConfiguration candidate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var tree = ConfigurationTree.Of(candidate);
        var problems = McpdOptionsValidator.CheckConfiguration(tree);
        if (problems.Count == 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            _provider.Replace(tree);
        }

        return problems;
    }

    /// <inheritdoc />
    public void Dispose() => (Configuration as IDisposable)?.Dispose();
}
