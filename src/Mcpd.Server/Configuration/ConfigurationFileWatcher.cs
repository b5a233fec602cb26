using System.Diagnostics;
using System.Threading.Channels;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Configuration;

/// <summary>
/// Hot reload of the configuration file: watches it, waits until it has settled, reads it anew and hands the whole
/// configuration to the <see cref="ReloadGate"/>. Only a complete, valid file moves the server: a file being
/// written is not read until its size and time have not changed for <see cref="SettleTime"/>; a missing file, or
/// one with no settings (empty, only comments), is rejected with a log line, never taken for "all defaults"; one
/// that does not parse or check is rejected with every problem. Reloads run one at a time on a task of their own,
/// and a change that arrives while one is read or checked supersedes it. Disposing stops watching at once and
/// waits for no reload (SIGTERM never waits for one).
/// </summary>
public sealed partial class ConfigurationFileWatcher : IDisposable
{
    /// <summary>How long the file must stay unchanged (no event, same size and time) before it is read.</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(300);

    private readonly string _path;
    private readonly Func<IConfiguration, IConfigurationRoot> _load;
    private readonly Func<Exception, string?> _describeLoadFailure;
    private readonly ReloadGate _gate;
    private readonly McpdMetrics _metrics;
    private readonly ReloadStatus _status;
    private readonly ILogger _logger;
    private readonly FileSystemWatcher _watcher;
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>
    /// Watches <paramref name="path"/>; <paramref name="load"/> builds the layered configuration from it anew (given
    /// the running one, whose unchanged sections it may share), and
    /// <paramref name="describeLoadFailure"/> says in one line why it could not (null: not a load failure, a bug).
    /// Each change's result goes to <paramref name="status"/>.
    /// </summary>
    public ConfigurationFileWatcher(string path, Func<IConfiguration, IConfigurationRoot> load, Func<Exception, string?> describeLoadFailure, ReloadGate gate, McpdMetrics metrics, ReloadStatus status, ILogger<ConfigurationFileWatcher> logger)
    {
        ArgumentNullException.ThrowIfNull(path);
        _path = Path.GetFullPath(path);
        status.Watching(_path);
        _load = load;
        _describeLoadFailure = describeLoadFailure;
        _gate = gate;
        _metrics = metrics;
        _status = status;
        _logger = logger;
        // The directory is watched, not the file: editors and atomic writers replace it (a new file renamed over it).
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!, Path.GetFileName(_path))
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += OnChanged;
        _watcher.Created += OnChanged;
        _watcher.Deleted += OnChanged;
        _watcher.Renamed += OnChanged;
        _watcher.EnableRaisingEvents = true;
        _ = Task.Run(() => ReloadLoopAsync(_stopping.Token));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _watcher.Dispose();
        _stopping.Cancel();
    }

    private void OnChanged(object sender, FileSystemEventArgs e) => _changed.Writer.TryWrite(true);

    private async Task ReloadLoopAsync(CancellationToken stopping)
    {
        try
        {
            while (await _changed.Reader.WaitToReadAsync(stopping))
            {
                _changed.Reader.TryRead(out _);
                await SettleAsync(stopping);
                try
                {
                    Reload(stopping);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A bug, not a bad file: said loudly, and the file is still watched.
                    _metrics.ConfigReloaded(accepted: false);
                    _status.Record([$"the reload failed on a bug (event 9): {ex.Message}"]);
                    LogReloadFailed(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Stopping: a reload being read or checked is dropped, the running configuration stays.
        }
    }

    /// <summary>Returns once the file has had no event and the same size and time (or absence) for <see cref="SettleTime"/>.</summary>
    private async Task SettleAsync(CancellationToken stopping)
    {
        var seen = FileState.Of(_path);
        while (true)
        {
            await Task.Delay(SettleTime, stopping);
            var now = FileState.Of(_path);
            if (!_changed.Reader.TryRead(out _) && now == seen)
            {
                return;
            }

            seen = now;
        }
    }

    private void Reload(CancellationToken stopping)
    {
        LogChecking(_logger, _path);
        var watch = Stopwatch.StartNew();
        if (Check(stopping) is not { } problems)
        {
            return;
        }

        _metrics.ConfigReloaded(accepted: problems.Count == 0);
        _status.Record(problems);
        if (problems.Count == 0)
        {
            ConfigurationLog.Applied(_logger, watch.ElapsedMilliseconds);
        }
        else
        {
            ConfigurationLog.Rejected(_logger, problems.Count, string.Join("; ", problems));
        }
    }

    /// <summary>Reads and checks the file and applies it when it is whole and valid; null when a newer change superseded it.</summary>
    private IReadOnlyList<string>? Check(CancellationToken stopping)
    {
        if (!File.Exists(_path))
        {
            return [$"{_path} does not exist (removed or renamed away); the running configuration stays until the file is back"];
        }

        IConfigurationRoot loaded;
        try
        {
            loaded = _load(_gate.Configuration);
        }
        catch (Exception ex) when (_describeLoadFailure(ex) is { } failure)
        {
            return [failure];
        }

        if (!HasSettings(loaded))
        {
            return [$"{_path} has no settings (it is empty or only comments), which would mean all the defaults; the running configuration stays (restart mcpd to run on the defaults)"];
        }

        return _changed.Reader.TryPeek(out _) ? null : _gate.TryApply(loaded, stopping);
    }

    /// <summary>True when the file's own layer has at least one key.</summary>
    private static bool HasSettings(IConfigurationRoot configuration) =>
        configuration.Providers.OfType<FileConfigurationProvider>().Any(file => file.GetChildKeys([], null).Any());

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Configuration file {File} changed: reading and checking it")]
    private static partial void LogChecking(ILogger logger, string file);

    [LoggerMessage(EventId = 9, Level = LogLevel.Error, Message = "Configuration reload failed; the running configuration stays")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception);

    /// <summary>What is seen of the file without reading it.</summary>
    private readonly record struct FileState(bool Exists, long Length, DateTime LastWriteUtc)
    {
        public static FileState Of(string path)
        {
            var file = new FileInfo(path);
            return file.Exists ? new(true, file.Length, file.LastWriteTimeUtc) : default;
        }
    }
}
