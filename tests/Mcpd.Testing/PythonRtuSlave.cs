using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Mcpd.Testing;

/// <summary>
/// A Modbus RTU slave that is a process of its own: Debian's python3 with a small script (standard library only) on
/// the slave end of a <see cref="SocatPtyPair"/>. It frames requests by the line's silence (Serial Line 2.5.1.1), drops
/// those with a bad CRC or for another unit, and answers byte for byte as the Application Protocol says: FC03 from 100
/// holding registers (02 beyond them), FC06 into them (an echo), FC08 by echoing the request whole (6.8.1) except
/// sub-function 04 Force Listen Only Mode, which it does not answer (and does not enter), anything else 01. Faults on demand: it ignores its first requests, or answers each one late. Every request it heard with an
/// intact CRC is printed and kept (<see cref="Heard"/>). Disposing kills it by its PID.
/// </summary>
public sealed class PythonRtuSlave : IAsyncDisposable
{
    /// <summary>Debian's interpreter; a python3 earlier on PATH (pyenv) may lack the terminal modules' raw mode.</summary>
    public const string Python = "/usr/bin/python3";

    private const string Script = """
        import os, select, sys, time, tty
        path, unit, ignore, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        line = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(line)
        holding = [0] * 100

        def crc(data):
            value = 0xFFFF
            for byte in data:
                value ^= byte
                for _ in range(8):
                    value = (value >> 1) ^ 0xA001 if value & 1 else value >> 1
            return value

        def answer(pdu):
            function = pdu[0]
            if function == 3:
                address, count = int.from_bytes(pdu[1:3], "big"), int.from_bytes(pdu[3:5], "big")
                if address + count > len(holding):
                    return bytes([0x83, 0x02])
                return bytes([3, 2 * count]) + b"".join(v.to_bytes(2, "big") for v in holding[address:address + count])
            if function == 6:
                holding[int.from_bytes(pdu[1:3], "big")] = int.from_bytes(pdu[3:5], "big")
                return pdu
            if function == 8:
                return None if pdu[1:3] == b"\x00\x04" else pdu
            return bytes([function | 0x80, 0x01])

        print("ready", flush=True)
        heard, pending = 0, b""
        while True:
            readable, _, _ = select.select([line], [], [], 0.005 if pending else None)
            if readable:
                pending += os.read(line, 512)
                continue
            frame, pending = pending, b""
            if len(frame) < 4 or frame[0] != unit or crc(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
                continue
            heard += 1
            print("heard " + frame.hex(), flush=True)
            if heard <= ignore:
                continue
            time.sleep(delay)
            pdu = answer(frame[1:-2])
            if pdu is not None:
                reply = bytes([unit]) + pdu
                os.write(line, reply + crc(reply).to_bytes(2, "little"))
        """;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _heard = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private PythonRtuSlave(Process process) => _process = process;

    /// <summary>The request ADUs heard with an intact CRC so far (hex, address and CRC included), in order.</summary>
    public IReadOnlyList<string> Heard => [.. _heard];

    /// <summary>
    /// Starts the slave as unit <paramref name="unit"/> on <paramref name="port"/>: it ignores its first
    /// <paramref name="ignoreFirst"/> requests and answers the others after <paramref name="delay"/>.
    /// </summary>
    public static async Task<PythonRtuSlave> StartAsync(string port, byte unit = 1, int ignoreFirst = 0, TimeSpan delay = default)
    {
        await DebianPackages.EnsureAsync("python3", [Python], "the RTU tests with a slave process");
        var start = new ProcessStartInfo(Python) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-I", "-c", Script, port, unit.ToString(CultureInfo.InvariantCulture), ignoreFirst.ToString(CultureInfo.InvariantCulture), delay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        var slave = new PythonRtuSlave(Process.Start(start)!);
        slave._process.OutputDataReceived += (_, e) => slave.Read(e.Data);
        slave._process.ErrorDataReceived += (_, e) => slave._errors.Enqueue(e.Data ?? "");
        slave._process.BeginOutputReadLine();
        slave._process.BeginErrorReadLine();
        var exited = slave._process.WaitForExitAsync();
        if (await Task.WhenAny(slave._ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(30))) != slave._ready.Task)
        {
            await slave.DisposeAsync();
            throw new InvalidOperationException($"the python RTU slave did not start on {port}:\n{string.Join('\n', slave._errors)}");
        }

        return slave;
    }

    /// <summary>
    /// <see cref="Heard"/> once it holds at least <paramref name="count"/> requests (at most 10 s), then
    /// <paramref name="settle"/> later: its output may reach the test after its answer reached mcpd.
    /// </summary>
    public async Task<IReadOnlyList<string>> HeardAsync(int count, TimeSpan settle = default)
    {
        var deadline = Stopwatch.StartNew();
        while (_heard.Count < count && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10);
        }

        await Task.Delay(settle);
        return Heard;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync(CancellationToken.None);
        _process.Dispose();
    }

    private void Read(string? line)
    {
        if (line == "ready")
        {
            _ready.TrySetResult();
        }
        else if (line is not null && line.StartsWith("heard ", StringComparison.Ordinal))
        {
            _heard.Enqueue(line["heard ".Length..].ToUpperInvariant());
        }
    }
}
