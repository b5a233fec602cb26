using System.Buffers;
using System.Diagnostics;
using Mcpd.Server.Devices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Persistence;

/// <summary>
/// Keeps what clients wrote to the simulated devices (coils, holding registers) across restarts, as Redis keeps an
/// RDB snapshot: restores the state file at start, before the listeners accept (it is registered before them and
/// before the generators); then every <see cref="PersistenceOptions.Interval"/>, when a client wrote since the last
/// save, copies each bank under its lock and writes the copy outside it (<see cref="AtomicFile"/>); and saves once
/// more at stop, after the listeners have drained. A crash loses at most one interval of writes; a graceful stop none.
/// Invariant: a device's copy is taken with the <see cref="RegisterBank.ClientWrites"/> count it matches, and a count
/// is recorded as saved only once its file is on disk, so a failed save is retried at the next interval.
/// </summary>
internal sealed partial class DeviceStatePersistence(
    IOptions<PersistenceOptions> options, DeviceRegistry devices, TimeProvider time, ILogger<DeviceStatePersistence> logger) : IHostedService, IDisposable
{
    private readonly ArrayBufferWriter<byte> _file = new();
    private readonly CancellationTokenSource _stopping = new();
    private DeviceState[] _copies = [];
    private long[] _savedWrites = [];
    private string? _path;
    private Task _saving = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(options.Value.File))
        {
            return Task.CompletedTask;
        }

        _path = Path.GetFullPath(options.Value.File);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var simulated = devices.Simulated;
        _copies = [.. simulated.Select(d => new DeviceState(d.Unit, new bool[d.Bank.SizeOf(RegisterTable.Coils)], new ushort[d.Bank.SizeOf(RegisterTable.Holding)]))];
        // Nothing is written before the listeners accept: the devices hold the file's values (or the map's) at count 0.
        _savedWrites = new long[simulated.Count];
        Restore(_path);
        _saving = SaveEveryIntervalAsync(options.Value.Interval, _stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_path is null)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _saving;
        if (SaveIfWritten())
        {
            LogFinalSave(logger, _path);
        }
    }

    public void Dispose() => _stopping.Dispose();

    private async Task SaveEveryIntervalAsync(TimeSpan interval, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                SaveIfWritten();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: the final save follows in StopAsync.
        }
    }

    /// <summary>Saves when a client wrote since the last save; true when a file was written.</summary>
    private bool SaveIfWritten()
    {
        var simulated = devices.Simulated;
        var writes = new long[simulated.Count];
        for (var i = 0; i < simulated.Count; i++)
        {
            writes[i] = simulated[i].Bank.CopyClientTables(_copies[i].Coils, _copies[i].HoldingRegisters);
        }

        if (writes.AsSpan().SequenceEqual(_savedWrites))
        {
            return false;
        }

        var started = Stopwatch.GetTimestamp();
        _file.ResetWrittenCount();
        StateFileFormat.Write(_copies, time.GetUtcNow(), _file);
        try
        {
            AtomicFile.Replace(_path!, _file.WrittenSpan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogSaveFailed(logger, _path!, ex.Message);
            return false;
        }

        _savedWrites = writes;
        var elapsed = Stopwatch.GetElapsedTime(started);
        LogSaved(logger, _path!, _file.WrittenCount, elapsed.TotalMilliseconds);
        return true;
    }

    /// <summary>
    /// Applies the state file over the map's initial values, whole or not at all. A damaged file is set aside as
    /// <c>FILE.corrupt</c> (for inspection; the next save would replace it) and the map's values stay.
    /// </summary>
    private void Restore(string path)
    {
        if (!File.Exists(path))
        {
            LogNoStateFile(logger, path);
            return;
        }

        List<DeviceState> saved;
        DateTimeOffset savedAt;
        try
        {
            if (!StateFileFormat.TryRead(File.ReadAllBytes(path), out saved, out savedAt, out var problem))
            {
                File.Move(path, path + ".corrupt", overwrite: true);
                LogUnusable(logger, path, problem!, $"kept as {path}.corrupt");
                return;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogUnusable(logger, path, ex.Message, "left in place");
            return;
        }

        var (skippedUnits, skippedValues) = (0, 0);
        foreach (var state in saved)
        {
            if (devices.Simulated.FirstOrDefault(d => d.Unit == state.Unit) is not { } device)
            {
                skippedUnits++;
                continue;
            }

            skippedValues += device.Bank.RestoreClientTables(state.Coils, state.HoldingRegisters);
        }

        LogRestored(logger, path, saved.Count - skippedUnits, savedAt);
        if (skippedUnits + skippedValues > 0)
        {
            LogSkipped(logger, path, skippedUnits, skippedValues);
        }
    }

    [LoggerMessage(EventId = 800, Level = LogLevel.Information, Message = "State file {Path}: restored what clients wrote to {Devices} device(s), saved at {SavedAt:u}")]
    private static partial void LogRestored(ILogger logger, string path, int devices, DateTimeOffset savedAt);

    [LoggerMessage(EventId = 801, Level = LogLevel.Information, Message = "State file {Path} does not exist yet: the devices start from the register map")]
    private static partial void LogNoStateFile(ILogger logger, string path);

    [LoggerMessage(EventId = 802, Level = LogLevel.Error, Message = "State file {Path} is unusable ({Problem}): nothing restored, the devices start from the register map; the file is {Kept}")]
    private static partial void LogUnusable(ILogger logger, string path, string problem, string kept);

    [LoggerMessage(EventId = 803, Level = LogLevel.Warning, Message = "State file {Path}: skipped {Units} device(s) no longer configured and {Values} value(s) beyond the tables' sizes")]
    private static partial void LogSkipped(ILogger logger, string path, int units, int values);

    [LoggerMessage(EventId = 804, Level = LogLevel.Error, Message = "State file {Path} not saved ({Error}); the previous file stays and the save is retried at the next interval")]
    private static partial void LogSaveFailed(ILogger logger, string path, string error);

    [LoggerMessage(EventId = 805, Level = LogLevel.Debug, Message = "State file {Path} saved: {Bytes} bytes in {Milliseconds:F1} ms")]
    private static partial void LogSaved(ILogger logger, string path, int bytes, double milliseconds);

    [LoggerMessage(EventId = 806, Level = LogLevel.Information, Message = "State file {Path}: saved what clients wrote before stopping")]
    private static partial void LogFinalSave(ILogger logger, string path);
}
