namespace Mcpd.Server.Configuration;

/// <summary>
/// Which configuration file the server watches and how its last change went (<see cref="ConfigurationFileWatcher"/>
/// records it), for <c>GET /api/config</c>.
/// </summary>
public sealed class ReloadStatus(TimeProvider time)
{
    private volatile ReloadResult? _last;
    private volatile string? _watchedFile;

    /// <summary>The file watched for changes; null when the server runs without one.</summary>
    public string? WatchedFile => _watchedFile;

    /// <summary>The last change of the file, applied or rejected; null before the first.</summary>
    public ReloadResult? Last => _last;

    internal void Watching(string path) => _watchedFile = path;

    internal void Record(IReadOnlyList<string> problems) => _last = new ReloadResult(time.GetUtcNow(), problems.Count == 0, problems);
}

/// <summary>A change of the configuration file: when it was seen, and the problems that kept it out (none: applied).</summary>
public sealed record ReloadResult(DateTimeOffset At, bool Accepted, IReadOnlyList<string> Problems);
