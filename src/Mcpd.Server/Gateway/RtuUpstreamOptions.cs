namespace Mcpd.Server.Gateway;

/// <summary>Settings of a Modbus RTU bus (section <c>upstreams:NAME:rtu</c>).</summary>
public sealed class RtuUpstreamOptions
{
    /// <summary>The serial device (<c>/dev/ttyUSB0</c>); required unless the upstream's <c>address</c> names an RTU-over-TCP converter.</summary>
    public string? Port { get; set; }

    /// <summary>Line speed in baud; it also sets the silent interval t3.5 between frames (Serial Line 2.5.1.1).</summary>
    public int BaudRate { get; set; } = 19200;

    /// <summary>Parity bit; even is the default of Serial Line 2.5.1.</summary>
    public RtuParity Parity { get; set; } = RtuParity.Even;

    /// <summary>Data bits per character: 8 in RTU mode.</summary>
    public int DataBits { get; set; } = 8;

    /// <summary>Stop bits, 1 or 2 (2 is what the spec asks for without parity).</summary>
    public int StopBits { get; set; } = 1;

    /// <summary>Requests waiting for the bus; beyond it a request is answered 06 (busy).</summary>
    public int QueueLimit { get; set; } = 64;

    /// <summary>
    /// Retries of a read that got no usable answer (no answer, or a bad CRC): side-effect-free functions only, never a
    /// write. The attempts of a request share its <see cref="UpstreamOptions.RequestTimeout"/>.
    /// </summary>
    public int ReadRetries { get; set; } = 1;

    /// <summary>After a broadcast (unit 0), how long the bus stays quiet so the slaves can act on it (Serial Line 2.4.1).</summary>
    public TimeSpan TurnaroundDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Units that stop answering are set aside, so they do not stall the others.</summary>
    public RtuQuarantineOptions Quarantine { get; set; } = new();

    /// <summary>First delay before reopening a port (or reconnecting a converter) that failed; it doubles, with jitter.</summary>
    public TimeSpan ReopenDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest delay between reopening attempts.</summary>
    public TimeSpan MaxReopenDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Adds every problem of these settings to <paramref name="problems"/>, under the key path <paramref name="path"/>;
    /// <paramref name="hasAddress"/> says whether the upstream names an RTU-over-TCP converter instead of a serial port.
    /// </summary>
    internal void Check(string path, List<string> problems, bool hasAddress = false)
    {
        if (hasAddress && Port is not null)
        {
            problems.Add($"{path}:port: '{Port}' and the upstream's address are both set; an RTU bus is either a serial port or a converter at host:port");
        }
        else if (!hasAddress && string.IsNullOrWhiteSpace(Port))
        {
            problems.Add($"{path}:port: an RTU bus needs a serial port (e.g. /dev/ttyUSB0), or the upstream's address of an RTU-over-TCP converter");
        }

        if (BaudRate is < 300 or > 4_000_000)
        {
            problems.Add($"{path}:baudRate: {BaudRate} is outside 300..4000000");
        }

        if (!Enum.IsDefined(Parity))
        {
            problems.Add($"{path}:parity: {Parity} is not None, Even or Odd");
        }

        if (DataBits != 8)
        {
            problems.Add($"{path}:dataBits: {DataBits} is not 8 (an RTU character carries 8 data bits, Serial Line 2.5.1)");
        }

        if (StopBits is not (1 or 2))
        {
            problems.Add($"{path}:stopBits: {StopBits} is not 1 or 2");
        }

        if (QueueLimit is < 1 or > 100000)
        {
            problems.Add($"{path}:queueLimit: {QueueLimit} is outside 1..100000");
        }

        if (ReadRetries is < 0 or > 10)
        {
            problems.Add($"{path}:readRetries: {ReadRetries} is outside 0..10 (0 turns retries off)");
        }

        if (TurnaroundDelay < TimeSpan.Zero || TurnaroundDelay > TimeSpan.FromSeconds(10))
        {
            problems.Add($"{path}:turnaroundDelay: {TurnaroundDelay} is outside 00:00:00..00:00:10");
        }

        if (ReopenDelay <= TimeSpan.Zero)
        {
            problems.Add($"{path}:reopenDelay: {ReopenDelay} must be positive");
        }

        if (MaxReopenDelay < ReopenDelay)
        {
            problems.Add($"{path}:maxReopenDelay: {MaxReopenDelay} is shorter than reopenDelay {ReopenDelay}");
        }

        Quarantine.Check($"{path}:quarantine", problems);
    }
}

/// <summary>The parity bit of an RTU character.</summary>
public enum RtuParity
{
    /// <summary>No parity bit (the spec then asks for 2 stop bits).</summary>
    None,
    /// <summary>Even parity, the Modbus default.</summary>
    Even,
    /// <summary>Odd parity.</summary>
    Odd,
}

/// <summary>
/// Quarantine of a unit that stops answering (section <c>upstreams:NAME:rtu:quarantine</c>): after
/// <see cref="Failures"/> timeouts in a row its requests are answered 0x0B at once, without touching the bus, for
/// <see cref="BaseDelay"/>, doubling at each failed trial up to <see cref="MaxDelay"/>.
/// </summary>
public sealed class RtuQuarantineOptions
{
    /// <summary>Timeouts in a row before the unit is set aside; 0 turns quarantine off.</summary>
    public int Failures { get; set; } = 3;

    /// <summary>First quarantine.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest quarantine.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(1);

    internal void Check(string path, List<string> problems)
    {
        if (Failures is < 0 or > 1000)
        {
            problems.Add($"{path}:failures: {Failures} is outside 0..1000 (0 turns quarantine off)");
        }

        if (BaseDelay <= TimeSpan.Zero)
        {
            problems.Add($"{path}:baseDelay: {BaseDelay} must be positive");
        }

        if (MaxDelay < BaseDelay)
        {
            problems.Add($"{path}:maxDelay: {MaxDelay} is shorter than baseDelay {BaseDelay}");
        }
    }
}
