namespace Mcpd.Server.Sessions;

/// <summary>Sessions (config section <c>sessions</c>, docs/sessions.md).</summary>
public sealed class SessionsOptions
{
    /// <summary>"memory" (one node) or "redis" (sessions shared by several nodes).</summary>
    public string Store { get; set; } = SessionStoreKinds.Memory;

    /// <summary>TTL of a session opened without one; every use extends the session by its TTL.</summary>
    public TimeSpan DefaultTtl { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Largest TTL a client may ask for.</summary>
    public TimeSpan MaxTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>In memory: most live sessions; at the limit <c>session.open</c> answers OVERLOADED.</summary>
    public int MaxSessions { get; set; } = 100_000;

    /// <summary>
    /// In memory: the estimated bytes all sessions may hold together (records and contexts); a <c>session.open</c> or
    /// <c>session.set</c> that would go beyond answers OVERLOADED. Closed and expired sessions give theirs back.
    /// </summary>
    public long MaxStoreBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Largest context value, in UTF-8 bytes; a larger one is BAD_REQUEST.</summary>
    public int MaxValueBytes { get; set; } = 64 * 1024;

    /// <summary>Most keys in one session's context (and named by one <c>session.set</c>); beyond: BAD_REQUEST.</summary>
    public int MaxKeys { get; set; } = 1024;

    /// <summary>Largest context of one session, keys and values in UTF-8 bytes; a write that would cross it is BAD_REQUEST.</summary>
    public int MaxContextBytes { get; set; } = 1024 * 1024;

    /// <summary>Sessions one connection may open per <see cref="OpenInterval"/> on this node; beyond: OVERLOADED.</summary>
    public int MaxOpensPerConnection { get; set; } = 16;

    /// <summary>Sessions one remote IP address may open per <see cref="OpenInterval"/> on this node, all its connections together; beyond: OVERLOADED.</summary>
    public int MaxOpensPerAddress { get; set; } = 256;

    /// <summary>The window of <see cref="MaxOpensPerConnection"/> and <see cref="MaxOpensPerAddress"/>.</summary>
    public TimeSpan OpenInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// <c>device.call</c>s in flight to one target session through this node (called here or forwarded); beyond,
    /// OVERLOADED at once, so a device that does not answer holds at most this many calls and connection slots.
    /// </summary>
    public int MaxCallsPerTarget { get; set; } = 16;

    /// <summary>In memory: how often expired sessions are swept out (they are also dropped when touched).</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Static tokens by client id; when any is set, <c>session.open</c> must present its client's token (else
    /// UNAUTHORIZED). Empty: no token is checked.
    /// </summary>
    public IDictionary<string, string> Tokens { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// What <c>session.open</c> does with a client id that already has a live session (docs/sessions.md, "One session per
    /// client id"): <see cref="ClientIdInUse.Takeover"/> (the default) or <see cref="ClientIdInUse.Refuse"/>.
    /// </summary>
    public string OnClientIdInUse { get; set; } = ClientIdInUse.Takeover;

    /// <summary>The Redis store.</summary>
    public RedisSessionOptions Redis { get; set; } = new();
}

/// <summary>The values of <see cref="SessionsOptions.OnClientIdInUse"/>.</summary>
public static class ClientIdInUse
{
    /// <summary>The new session replaces the old one: the old one is closed and its connection told (as MQTT does).</summary>
    public const string Takeover = "takeover";

    /// <summary>The open is refused while the old session lives.</summary>
    public const string Refuse = "refuse";
}

/// <summary>The Redis store (section <c>sessions:redis</c>).</summary>
public sealed class RedisSessionOptions
{
    /// <summary>A StackExchange.Redis configuration string, for example "127.0.0.1:6379,password=...".</summary>
    public string ConnectionString { get; set; } = "127.0.0.1:6379";

    /// <summary>Prefix of every key mcpd writes, so several deployments can share one Redis.</summary>
    public string KeyPrefix { get; set; } = "mcpd:";

    /// <summary>
    /// Live sessions at most, all nodes together (the sorted set <c>{prefix}live-sessions</c>); at the limit <c>session.open</c>
    /// answers OVERLOADED. 0: no quota (and no set).
    /// </summary>
    public int MaxSessions { get; set; } = 1_000_000;
}

/// <summary>The values of <see cref="SessionsOptions.Store"/>.</summary>
public static class SessionStoreKinds
{
    /// <summary>In this process.</summary>
    public const string Memory = "memory";

    /// <summary>In Redis.</summary>
    public const string Redis = "redis";
}
