using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Mcpd.Testing;

/// <summary>
/// <c>mcpd serve --config FILE</c> as a process of its own, its output kept line by line: for what only the
/// executable does (hot reload of the file, SIGTERM). Disposing kills it by PID if it still runs.
/// </summary>
public sealed partial class McpdProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private McpdProcess(Process process) => _process = process;

    /// <summary>Every line written so far, stdout and stderr.</summary>
    public IReadOnlyCollection<string> Output => _output;

    /// <summary>The process, to signal it or wait for its exit.</summary>
    public Process Process => _process;

    /// <summary>
    /// Starts <paramref name="mcpdDll"/> serving <paramref name="configFile"/> and waits for its Modbus listener; with
    /// <paramref name="openFileLimit"/>, under that RLIMIT_NOFILE (util-linux <c>prlimit</c>, which then execs it).
    /// </summary>
    public static async Task<(McpdProcess Server, int ModbusPort)> StartAsync(string mcpdDll, string configFile, int? openFileLimit = null)
    {
        var start = new ProcessStartInfo(openFileLimit is null ? "dotnet" : "prlimit") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] launcher = openFileLimit is { } limit ? [$"--nofile={limit}:{limit}", "dotnet"] : [];
        foreach (var argument in (string[])[.. launcher, mcpdDll, "serve", "--config", configFile])
        {
            start.ArgumentList.Add(argument);
        }

        var server = new McpdProcess(Process.Start(start)!);
        server._process.OutputDataReceived += (_, line) => server._output.Enqueue(line.Data ?? "");
        server._process.ErrorDataReceived += (_, line) => server._output.Enqueue(line.Data ?? "");
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        return (server, ListenerPort(await server.WaitForOutputAsync("modbus listening on", 1, TimeSpan.FromSeconds(60))));
    }

    /// <summary>The port of a "NAME listening on 127.0.0.1:PORT" line.</summary>
    public static int ListenerPort(string line) => int.Parse(PortPattern().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);

    /// <summary>Waits until <paramref name="count"/> lines contain <paramref name="text"/> and returns the last of them.</summary>
    public async Task<string> WaitForOutputAsync(string text, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            var found = _output.Where(line => line.Contains(text, StringComparison.Ordinal)).ToList();
            if (found.Count >= count)
            {
                return found[count - 1];
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No {count} output line(s) containing '{text}'. Output:\n{string.Join('\n', _output)}");
    }

    /// <summary>Sends SIGTERM, as systemd does to stop the service.</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex PortPattern();
}
