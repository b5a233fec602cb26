using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mcpd.Testing;

/// <summary>
/// A real redis-server of our own on a free loopback port, without persistence (<c>--save "" --appendonly no</c>):
/// installed with apt-get (Debian package <c>redis-server</c>) when missing, stopped by its PID, and restartable on
/// the same port to simulate an outage.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    public const string Executable = "/usr/bin/redis-server";
    public const string Cli = "/usr/bin/redis-cli";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly string[] _extraArguments;
    private Process? _process;
    private Task<string>? _output;

    private RedisServer(int port, string[] extraArguments) => (Port, _extraArguments) = (port, extraArguments);

    public int Port { get; }

    /// <summary>For <c>RedisSessionOptions.ConnectionString</c>.</summary>
    public string ConnectionString => $"127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// Installs redis-server if needed, starts it on a free port and returns once it answers PING;
    /// <paramref name="extraArguments"/> are added to its command line ({port} in them stands for the port).
    /// </summary>
    public static async Task<RedisServer> StartAsync(params string[] extraArguments)
    {
        await EnsureInstalledAsync();
        // Two fixtures starting at once can be handed the same free port; the loser's redis-server exits while PING is
        // answered by the winner's, so a start counts only when our own process answers, else another port is tried.
        for (var attempt = 1; ; attempt++)
        {
            var server = new RedisServer(FreeLoopbackPort(), extraArguments);
            try
            {
                await server.StartAgainAsync();
                return server;
            }
            catch (InvalidOperationException) when (attempt < 5)
            {
                await server.StopAsync();
            }
        }
    }

    /// <summary>Starts the server (again) on <see cref="Port"/> and waits until it answers PING.</summary>
    public async Task StartAgainAsync()
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"redis-server on port {Port} is already running");
        }

        var startInfo = new ProcessStartInfo(Executable)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        var port = Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var argument in new[] { "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", Path.GetTempPath() }.Concat(_extraArguments.Select(a => a.Replace("{port}", port, StringComparison.Ordinal))))
        {
            startInfo.ArgumentList.Add(argument);
        }

        _process = Process.Start(startInfo)!;
        _process.StandardInput.Close();
        _output = Task.WhenAll(_process.StandardOutput.ReadToEndAsync(), _process.StandardError.ReadToEndAsync())
            .ContinueWith(t => string.Concat(t.Result), TaskScheduler.Default);

        var deadline = Stopwatch.StartNew();
        while (!await AnswersPingAsync())
        {
            if (_process.HasExited || deadline.Elapsed > StartTimeout)
            {
                await StopAsync();
                throw new InvalidOperationException($"redis-server did not answer PING on port {Port} within {StartTimeout}. It said:\n{await _output}");
            }

            await Task.Delay(25);
        }

        var info = await CliAsync("info", "server");
        var owner = info.Split('\n').Select(line => line.Trim()).FirstOrDefault(line => line.StartsWith("process_id:", StringComparison.Ordinal));
        if (owner != $"process_id:{_process.Id}")
        {
            await StopAsync();
            throw new InvalidOperationException($"Port {Port} is answered by another redis-server ({owner}), not by ours.");
        }
    }

    /// <summary>Kills the server by its PID (an outage as sudden as a crash) and waits until it is gone.</summary>
    public async Task StopAsync()
    {
        if (_process is null)
        {
            return;
        }

        if (!_process.HasExited)
        {
            _process.Kill();
        }

        using var timeout = new CancellationTokenSource(StopTimeout);
        await _process.WaitForExitAsync(timeout.Token);
        _process.Dispose();
        _process = null;
    }

    /// <summary>Freezes the server (SIGSTOP): connections stay open and nothing answers, as with a hung or unreachable host.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    /// <summary>Lets a paused server go on (SIGCONT).</summary>
    public Task ResumeAsync() => SignalAsync("CONT");

    /// <summary>Runs redis-cli against this server and returns its output (e.g. <c>INFO commandstats</c>, <c>--scan</c>).</summary>
    public async Task<string> CliAsync(params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync(Cli, ["-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. arguments]);
        return result.Succeeded ? result.StandardOutput : throw new InvalidOperationException(result.ToString());
    }

    /// <summary>Calls per command since the server started, from <c>INFO commandstats</c> (e.g. "evalsha" -> 20).</summary>
    public async Task<Dictionary<string, long>> CommandCallsAsync()
    {
        // Lines look like: cmdstat_evalsha:calls=20,usec=95,usec_per_call=4.75,rejected_calls=0,failed_calls=0
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in (await CliAsync("INFO", "commandstats")).Split('\n', StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith("cmdstat_", StringComparison.Ordinal))
            {
                var name = line["cmdstat_".Length..line.IndexOf(':', StringComparison.Ordinal)];
                var count = line[(line.IndexOf("calls=", StringComparison.Ordinal) + "calls=".Length)..line.IndexOf(',', StringComparison.Ordinal)];
                calls[name] = long.Parse(count, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return calls;
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task SignalAsync(string signal)
    {
        var pid = _process?.Id ?? throw new InvalidOperationException($"redis-server on port {Port} is not running");
        var result = await ProcessRunner.RunAsync("/bin/kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(result.ToString());
        }
    }

    private static Task EnsureInstalledAsync() => DebianPackages.EnsureAsync("redis-server", [Executable, Cli], "the Redis tests");

    private static int FreeLoopbackPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>One inline PING on a fresh connection, bounded by a short timeout.</summary>
    private async Task<bool> AnswersPingAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), timeout.Token);
            await socket.SendAsync("PING\r\n"u8.ToArray(), SocketFlags.None, timeout.Token);
            var answer = new byte[16];
            var read = await socket.ReceiveAsync(answer, SocketFlags.None, timeout.Token);
            return Encoding.ASCII.GetString(answer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
