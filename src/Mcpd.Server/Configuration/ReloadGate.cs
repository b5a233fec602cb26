using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;

namespace Mcpd.Server.Configuration;

/// <summary>
/// Hot reload with a gate: the running server reads <see cref="Configuration"/>, a copy of the layered sources that
/// only moves forward when the whole new configuration passes <see cref="McpdOptionsValidator.CheckConfiguration"/>.
/// An invalid edit (or a file that no longer parses) is reported through <see cref="Reloaded"/> and the running
/// configuration stays; options monitors, routing and log levels never see it.
/// </summary>
public sealed class ReloadGate : IDisposable
{
    private readonly IConfigurationRoot _sources;
    private readonly string[] _otherSections;
    private readonly GatedProvider _provider;
    private readonly IDisposable _subscription;
    private string? _loadFailure;

    /// <summary>Gates <paramref name="sources"/>; root sections in <paramref name="otherSections"/> (such as "logging") are not mcpd's options and pass unchecked.</summary>
    public ReloadGate(IConfigurationRoot sources, params string[] otherSections)
    {
        ArgumentNullException.ThrowIfNull(sources);
        _sources = sources;
        _otherSections = otherSections;
        _provider = new GatedProvider(Snapshot(sources));
        Configuration = new ConfigurationRoot([_provider]);
        _subscription = ChangeToken.OnChange(sources.GetReloadToken, OnSourcesChanged);
    }

    /// <summary>
    /// Raised after each change of the sources, with the problems that kept it out (empty: it was applied).
    /// </summary>
    public event Action<IReadOnlyList<string>>? Reloaded;

    /// <summary>The configuration the server runs on: the last valid state of the sources.</summary>
    public IConfigurationRoot Configuration { get; }

    /// <summary>
    /// A source failed to load (a file that no longer parses: file providers then clear their data), so the change
    /// that follows is rejected rather than taken for "every key removed".
    /// </summary>
    public void ReportLoadFailure(string message) => Volatile.Write(ref _loadFailure, message);

    /// <inheritdoc />
    public void Dispose()
    {
        _subscription.Dispose();
        (Configuration as IDisposable)?.Dispose();
    }

    private void OnSourcesChanged()
    {
        IReadOnlyList<string> problems = Interlocked.Exchange(ref _loadFailure, null) is { } failure
            ? [failure]
            : McpdOptionsValidator.CheckConfiguration(_sources, _otherSections);
        if (problems.Count == 0)
        {
            _provider.Replace(Snapshot(_sources));
        }

        Reloaded?.Invoke(problems);
    }

    private static Dictionary<string, string?> Snapshot(IConfiguration configuration) =>
        configuration.AsEnumerable().Where(pair => pair.Value is not null).ToDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>Holds the accepted snapshot; replacing it fires the reload token the options system listens to.</summary>
    private sealed class GatedProvider(Dictionary<string, string?> data) : ConfigurationProvider
    {
        public override void Load() => Data = data;

        public void Replace(Dictionary<string, string?> snapshot)
        {
            Data = snapshot;
            OnReload();
        }
    }
}
