namespace Mcpd.Server.Gateway;

/// <summary>
/// Settings of a Modbus TCP upstream (section <c>upstreams:NAME:tcp</c>): the connection pool, the retries of reads,
/// the circuit breaker and the reconnect backoff.
/// </summary>
public sealed class TcpUpstreamOptions
{
    /// <summary>Most connections to the device in the pool.</summary>
    public int MaxConnections { get; set; } = 4;

    /// <summary>Connections kept open even when idle (opened at start and after idle ones close); at most <see cref="MaxConnections"/>.</summary>
    public int MinIdle { get; set; }

    /// <summary>
    /// Requests pipelined on one connection, each with its own transaction id (Implementation Guide 4.2.1: a device
    /// may accept several); 1 for a device that answers one request at a time.
    /// </summary>
    public int MaxInFlightPerConnection { get; set; } = 8;

    /// <summary>How long a request waits for a free slot (a connection with room); then it is answered 0x0A.</summary>
    public TimeSpan AcquireTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Requests that may wait for a slot at once; beyond it a request is answered 0x0A at once. 0: none waits.</summary>
    public int QueueLimit { get; set; } = 256;

    /// <summary>A connection unused this long is closed (down to <see cref="MinIdle"/>); zero keeps them open.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A connection older than this takes no new requests and closes when its last one is answered; zero: no limit.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Retries of a read that failed at once (a broken connection, say): side-effect-free functions only, never a write, within the request's deadline.</summary>
    public int ReadRetries { get; set; } = 2;

    /// <summary>Delay before the first retry; it doubles for each further one, with jitter.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>When the device counts as failed and requests are answered 0x0B at once.</summary>
    public UpstreamBreakerOptions Breaker { get; set; } = new();

    /// <summary>How an unreachable device is reconnected.</summary>
    public UpstreamReconnectOptions Reconnect { get; set; } = new();

    /// <summary>Adds every problem of these settings to <paramref name="problems"/>, under the key path <paramref name="path"/>.</summary>
    internal void Check(string path, List<string> problems)
    {
        if (MaxConnections is < 1 or > 64)
        {
            problems.Add($"{path}:maxConnections: {MaxConnections} is outside 1..64");
        }

        if (MinIdle < 0 || MinIdle > Math.Max(1, MaxConnections))
        {
            problems.Add($"{path}:minIdle: {MinIdle} is outside 0..maxConnections ({MaxConnections})");
        }

        if (MaxInFlightPerConnection is < 1 or > 256)
        {
            problems.Add($"{path}:maxInFlightPerConnection: {MaxInFlightPerConnection} is outside 1..256");
        }

        CheckPositive(AcquireTimeout, $"{path}:acquireTimeout", problems);
        if (QueueLimit is < 0 or > 100000)
        {
            problems.Add($"{path}:queueLimit: {QueueLimit} is outside 0..100000");
        }

        CheckNotNegative(IdleTimeout, $"{path}:idleTimeout", "zero keeps idle connections open", problems);
        CheckNotNegative(MaxLifetime, $"{path}:maxLifetime", "zero: no limit", problems);
        if (ReadRetries is < 0 or > 10)
        {
            problems.Add($"{path}:readRetries: {ReadRetries} is outside 0..10");
        }

        CheckNotNegative(RetryDelay, $"{path}:retryDelay", "zero retries at once", problems);
        Breaker.Check($"{path}:breaker", problems);
        Reconnect.Check($"{path}:reconnect", problems);
    }

    internal static void CheckPositive(TimeSpan value, string path, List<string> problems)
    {
        if (value <= TimeSpan.Zero)
        {
            problems.Add($"{path}: {value} must be positive");
        }
    }

    private static void CheckNotNegative(TimeSpan value, string path, string zeroMeans, List<string> problems)
    {
        if (value < TimeSpan.Zero)
        {
            problems.Add($"{path}: {value} must not be negative ({zeroMeans})");
        }
    }
}
