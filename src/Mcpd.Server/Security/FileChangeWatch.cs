namespace Mcpd.Server.Security;

/// <summary>
/// Calls back once a set of files has changed and then stayed unchanged for <see cref="SettleTime"/>: a certificate and
/// its key replaced one after the other are read together. The directories are watched, not the files, since tools
/// replace a file by renaming a new one over it. The callback runs on a timer thread.
/// </summary>
internal sealed class FileChangeWatch : IDisposable
{
    /// <summary>How long the files must stay unchanged before the callback runs.</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(300);

    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Timer _settled;

    /// <summary>Watches <paramref name="files"/>; <paramref name="changed"/> runs after each settled change.</summary>
    public FileChangeWatch(IEnumerable<string> files, Action changed)
    {
        // A one-shot timer that every event pushes back.
        _settled = new Timer(_ => changed(), null, Timeout.Infinite, Timeout.Infinite);
        foreach (var directory in files.Select(Path.GetFullPath).GroupBy(Path.GetDirectoryName))
        {
            var names = directory.Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal);
            var watcher = new FileSystemWatcher(directory.Key!)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            FileSystemEventHandler onEvent = (_, e) =>
            {
                if (names.Contains(e.Name!) || (e is RenamedEventArgs renamed && names.Contains(renamed.OldName!)))
                {
                    _settled.Change(SettleTime, Timeout.InfiniteTimeSpan);
                }
            };
            watcher.Changed += onEvent;
            watcher.Created += onEvent;
            watcher.Deleted += onEvent;
            watcher.Renamed += (sender, e) => onEvent(sender, e);
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }

        _settled.Dispose();
    }
}
