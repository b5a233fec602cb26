using System.Diagnostics;
using System.Text;

namespace Mcpd.Testing;

/// <summary>
/// Two connected pseudo-terminals made by <c>socat</c>, a serial line without hardware: what is written to one end is
/// read at the other. The ends are symbolic links in a directory of this test; socat is ended by its PID.
/// </summary>
public sealed class SocatPtyPair : IAsyncDisposable
{
    /// <summary>Debian's socat.</summary>
    public const string Socat = "/usr/bin/socat";

    private readonly Process _process;
    private readonly StringBuilder _log;

    private SocatPtyPair(Process process, StringBuilder log, string masterEnd, string slaveEnd)
    {
        _process = process;
        _log = log;
        MasterEnd = masterEnd;
        SlaveEnd = slaveEnd;
    }

    /// <summary>The end mcpd opens as its serial port.</summary>
    public string MasterEnd { get; }

    /// <summary>The end the simulated slaves serve.</summary>
    public string SlaveEnd { get; }

    /// <summary>A fresh directory for the two links (they do not exist yet).</summary>
    public static (string MasterEnd, string SlaveEnd) NewLinkPaths()
    {
        var directory = Directory.CreateTempSubdirectory("mcpd-rtu-").FullName;
        return (Path.Combine(directory, "mcpd"), Path.Combine(directory, "slave"));
    }

    /// <summary>Starts socat with new links (or the given ones), installing the Debian package socat when it is missing.</summary>
    public static async Task<SocatPtyPair> StartAsync((string MasterEnd, string SlaveEnd)? links = null)
    {
        await EnsureInstalledAsync();
        var (masterEnd, slaveEnd) = links ?? NewLinkPaths();
        var startInfo = new ProcessStartInfo(Socat) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-d", "-d", $"pty,raw,echo=0,link={masterEnd}", $"pty,raw,echo=0,link={slaveEnd}" })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var log = new StringBuilder();
        var process = new Process { StartInfo = startInfo };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (log)
            {
                log.AppendLine(e.Data);
            }
        };
        process.Start();
        process.BeginErrorReadLine();
        var pair = new SocatPtyPair(process, log, masterEnd, slaveEnd);
        var deadline = Stopwatch.StartNew();
        while (!(File.Exists(masterEnd) && File.Exists(slaveEnd)))
        {
            if (process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                await pair.DisposeAsync();
                throw new InvalidOperationException($"socat did not create {masterEnd} and {slaveEnd}:\n{pair.Log}");
            }

            await Task.Delay(10);
        }

        return pair;
    }

    /// <summary>What socat said (with -d -d: the ptys it allocated and the transfer's end).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Installs socat with apt-get when <see cref="Socat"/> is missing; throws with apt-get's output when it cannot.</summary>
    public static Task EnsureInstalledAsync() => DebianPackages.EnsureAsync("socat", [Socat], "the RTU tests");

    /// <summary>Ends socat (by its PID) and removes the links and their directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync(CancellationToken.None);
        _process.Dispose();
        // Killed, socat leaves its links behind.
        File.Delete(MasterEnd);
        File.Delete(SlaveEnd);
        var directory = Path.GetDirectoryName(MasterEnd)!;
        if (Directory.Exists(directory) && !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            Directory.Delete(directory);
        }
    }
}
