using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Mcpd.Server.Sessions;

/// <summary>
/// Sessions in Redis, shared by every node that uses the same Redis and key prefix (docs/sessions.md).
/// </summary>
/// <remarks>
/// <para>
/// Layout (docs/sessions.md): a session is the hash <c>{prefix}session:{id}</c> with the fields <c>clientId</c>,
/// <c>ttl</c> (milliseconds), <c>created</c> (Unix milliseconds), <c>owner</c> (<see cref="SessionOwner.Bytes"/>; none
/// when the session has no owner, as in sessions stored before owners existed), <c>node</c>, <c>boot</c> and <c>conn</c> (the
/// binding: all or none), <c>epoch</c> (the fencing token, raised by every bind) and one field <c>ctx:{key}</c> per context value. Redis keeps the expiry itself: every operation that finds
/// the session runs <c>PEXPIRE key ttl</c> in the same script, so expiry slides with use and mcpd runs no timer. A node
/// announcement is the string <c>{prefix}node:{nodeId}</c> = "incarnation host:port", set with its expiry. Needs Redis 4.0 or newer.
/// </para>
/// <para>
/// One round trip per operation: each reads-and-touches in one Lua script sent by <c>EVALSHA</c> (the SHA-1 is
/// computed here once; after a Redis restart or <c>SCRIPT FLUSH</c> the first call per script gets <c>NOSCRIPT</c>
/// and is sent once by <c>EVAL</c>, which caches it again). The multiplexer reconnects by itself; while Redis cannot
/// be reached every call throws <see cref="SessionStoreUnavailableException"/>.
/// </para>
/// </remarks>
public sealed partial class RedisSessionStore : ISessionStore, IAsyncDisposable
{
    private const string ContextFieldPrefix = "ctx:";

    /// <summary>
    /// Request-path defaults, placed before the configured string so that its own values win: a call waits about a
    /// second at most for a Redis that does not answer, and a connection attempt two.
    /// </summary>
    private const string DefaultConfiguration = "connectTimeout=2000,syncTimeout=1000,asyncTimeout=1000,connectRetry=1,name=mcpd,";

    /// <summary>Keys SCAN examines per call while listing: small enough not to stall Redis.</summary>
    private const int ScanPageSize = 250;

    private static readonly RedisValue[] InfoFields = ["clientId", "ttl", "created", "node", "conn", "owner", "boot", "epoch"];

    /// <summary>What a fenced script answers when the caller's epoch is stale (<see cref="SessionTakenOverException"/>).</summary>
    private const long TakenOver = -1;

    /// <summary>
    /// The start of every script that finds a session (KEYS[1]): a key without its <c>ttl</c> field is no session
    /// (expired or never created) and the script answers nil.
    /// </summary>
    private const string Find =
        "local ttl = redis.call('HGET', KEYS[1], 'ttl')\n"
        + "if not ttl then return false end\n";

    /// <summary>The expiry slides by the session's TTL (after <see cref="Find"/>).</summary>
    private const string Touch = "redis.call('PEXPIRE', KEYS[1], ttl)\n";

    /// <summary>The preamble of every script that finds and touches a session.</summary>
    private const string FindAndTouch = Find + Touch;

    /// <summary>
    /// The check of the scripts a caller's epoch fences (ARGV[1]; '0': not checked), after <see cref="Find"/>: a
    /// session whose epoch is another answers <see cref="TakenOver"/> before anything is touched or changed.
    /// </summary>
    private const string Fence = "if ARGV[1] ~= '0' and redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return -1 end\n";

    /// <summary>The preamble of the fenced scripts that find and touch a session.</summary>
    private const string FencedFindAndTouch = Find + Fence + Touch;

    /// <summary>ARGV: clientId, ttl ms, created ms, owner (empty: none)[, node, boot, conn]. 1 when created, 0 when the id exists.</summary>
    private static readonly Script CreateScript = new(
        "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
        + "redis.call('HSET', KEYS[1], 'clientId', ARGV[1], 'ttl', ARGV[2], 'created', ARGV[3], 'keys', 0, 'bytes', 0)\n"
        + "if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'owner', ARGV[4]) end\n"
        + "if ARGV[7] then redis.call('HSET', KEYS[1], 'node', ARGV[5], 'boot', ARGV[6], 'conn', ARGV[7]) end\n"
        + "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
        + "return 1");

    /// <summary>The <see cref="InfoFields"/>, or nil.</summary>
    private static readonly Script TouchScript = new(
        FindAndTouch + "return redis.call('HMGET', KEYS[1], 'clientId', 'ttl', 'created', 'node', 'conn', 'owner', 'boot', 'epoch')");

    /// <summary>ARGV: the epoch, the field. A one-element array (the value, nil when unset), nil when there is no session, or <see cref="TakenOver"/>.</summary>
    private static readonly Script GetValueScript = new(FencedFindAndTouch + "return { redis.call('HGET', KEYS[1], ARGV[2]) }");

    /// <summary>ARGV: the epoch. Every field and value, nil, or <see cref="TakenOver"/>.</summary>
    private static readonly Script GetAllScript = new(FencedFindAndTouch + "return redis.call('HGETALL', KEYS[1])");

    /// <summary>ARGV: the epoch. The session's clientId when deleted, nil when there was no session, or <see cref="TakenOver"/>.</summary>
    private static readonly Script DeleteScript = new(
        Find + Fence + "local client = redis.call('HGET', KEYS[1], 'clientId')\nredis.call('DEL', KEYS[1])\nreturn client");

    /// <summary>
    /// KEYS[1]: a clientId's index entry. ARGV: session id, ttl ms, the session the entry must name to be replaced
    /// ('': any). {1, previous} when set, {0, previous} when not (previous nil when the entry named nothing).
    /// </summary>
    private static readonly Script ClaimClientScript = new(
        "local current = redis.call('GET', KEYS[1])\n"
        + "if ARGV[3] == '' or not current or current == ARGV[3] then\n"
        + "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
        + "  return {1, current}\n"
        + "end\n"
        + "return {0, current}");

    /// <summary>
    /// KEYS[1]: the live-sessions set (session id scored by its expiry, Unix ms). ARGV: session id, its expiry, now, the
    /// most sessions. Drops the members whose expiry has passed, then adds the session unless the set is full: 1 when
    /// added, 0 when full.
    /// </summary>
    private static readonly Script ReserveScript = new(
        "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])\n"
        + "if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end\n"
        + "redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])\n"
        + "return 1");

    /// <summary>KEYS[1]: a clientId's index entry. ARGV: session id. Compare-and-delete: the entry goes only if it still names that session.</summary>
    private static readonly Script ReleaseClientScript = new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\nreturn 0");

    /// <summary>
    /// ARGV: the epoch, the most keys, the most context bytes, then field, value pairs (the last of a field wins; an empty value
    /// deletes its field). The hash's fields <c>keys</c> and <c>bytes</c> count the context (bytes of keys without their
    /// prefix, and of values), so a write costs the fields it names, not the whole context; a session made before the
    /// counters existed has none, and its context is counted once, whole. Answers {1, keys, bytes}
    /// when written, {0, keys, bytes} (what the context would have held) when a limit refused it and nothing changed,
    /// or nil when there is no session.
    /// </summary>
    private static readonly Script SetValuesScript = new(
        FencedFindAndTouch
        + "local final = {}\n"
        + "for i = 4, #ARGV, 2 do final[ARGV[i]] = ARGV[i + 1] end\n"
        + "local counters = redis.call('HMGET', KEYS[1], 'keys', 'bytes')\n"
        + "local keys, bytes = tonumber(counters[1]), tonumber(counters[2])\n"
        + "if not keys or not bytes then\n"
        + "  keys, bytes = 0, 0\n"
        + "  local all = redis.call('HGETALL', KEYS[1])\n"
        + "  for i = 1, #all, 2 do\n"
        + $"    if string.sub(all[i], 1, {ContextFieldPrefix.Length}) == '{ContextFieldPrefix}' then keys = keys + 1; bytes = bytes + #all[i] - {ContextFieldPrefix.Length} + #all[i + 1] end\n"
        + "  end\n"
        + "end\n"
        + "local set, removed = {}, {}\n"
        + "for field, value in pairs(final) do\n"
        + "  local old = redis.call('HSTRLEN', KEYS[1], field)\n"
        + $"  if old > 0 then keys = keys - 1; bytes = bytes - (#field - {ContextFieldPrefix.Length}) - old end\n"
        + "  if value == '' then removed[#removed + 1] = field else\n"
        + $"    keys = keys + 1; bytes = bytes + (#field - {ContextFieldPrefix.Length}) + #value\n"
        + "    set[#set + 1] = field; set[#set + 1] = value\n"
        + "  end\n"
        + "end\n"
        + "if keys > tonumber(ARGV[2]) or bytes > tonumber(ARGV[3]) then return {0, keys, bytes} end\n"
        + "if #removed > 0 then redis.call('HDEL', KEYS[1], unpack(removed)) end\n"
        + "redis.call('HSET', KEYS[1], 'keys', keys, 'bytes', bytes, unpack(set))\n"
        + "return {1, keys, bytes}");

    /// <summary>
    /// ARGV: node, boot, conn. The fencing step: the epoch goes up by one and the binding is replaced in one script, so
    /// two binds never share an epoch. {new epoch, previous node, previous boot, previous conn} (nil for no previous
    /// binding), or nil.
    /// </summary>
    private static readonly Script BindScript = new(
        FindAndTouch
        + "local previous = redis.call('HMGET', KEYS[1], 'node', 'boot', 'conn')\n"
        + "local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)\n"
        + "redis.call('HSET', KEYS[1], 'node', ARGV[1], 'boot', ARGV[2], 'conn', ARGV[3])\n"
        + "return {epoch, previous[1], previous[2], previous[3]}");

    /// <summary>
    /// ARGV: node, boot, conn. Compare-and-delete: the binding goes only if it is still this one, so a connection that
    /// ends late cannot erase the newer binding of a reconnect on another node. Like the in-memory store it does not
    /// touch: a connection ending is no use of the session.
    /// </summary>
    private static readonly Script UnbindScript = new(
        "local bound = redis.call('HMGET', KEYS[1], 'node', 'boot', 'conn')\n"
        + "if bound[1] == ARGV[1] and bound[2] == ARGV[2] and bound[3] == ARGV[3] then redis.call('HDEL', KEYS[1], 'node', 'boot', 'conn') end\n"
        + "return 0");

    /// <summary>
    /// KEYS[1]: the node's key. ARGV: incarnation, address, ttl ms. Sets "incarnation address" with its expiry unless
    /// another incarnation's announcement is there (a live one: Redis removes expired keys before a script sees them);
    /// then answers that announcement and writes nothing. Nil when written.
    /// </summary>
    private static readonly Script PublishNodeScript = new(
        "local current = redis.call('GET', KEYS[1])\n"
        + "if current and string.sub(current, 1, #ARGV[1] + 1) ~= ARGV[1] .. ' ' then return current end\n"
        + "redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[3])\n"
        + "return false");

    private readonly ILogger _logger;
    private readonly SessionContextLimits _limits;
    private readonly string _sessionKeyPrefix;
    private readonly string _nodeKeyPrefix;
    private readonly string _clientKeyPrefix;
    private readonly RedisKey _liveKey;
    private readonly int _maxSessions;
    private readonly string _endpoints;
    private readonly Task<ConnectionMultiplexer> _connecting;
    private readonly McpdMetrics? _metrics;

    /// <summary>1 while Redis is believed reachable, 0 after a failure was logged: each change is logged once.</summary>
    private int _reachable = 1;

    /// <summary>
    /// Starts connecting to Redis in the background and returns at once; calls made before the connection is up wait
    /// for it (at most the connect timeout), and while Redis is down they throw <see cref="SessionStoreUnavailableException"/>.
    /// </summary>
    /// <param name="options">The connection string (StackExchange.Redis syntax; <c>connectTimeout</c>,
    /// <c>syncTimeout</c>, <c>asyncTimeout</c> default to 2000, 1000, 1000 ms here) and the key prefix.</param>
    /// <param name="limits">The bounds of a session's context, kept by the script that sets values.</param>
    /// <param name="logger">Where the store says that Redis went away and came back.</param>
    /// <param name="metrics">Where round trips and failures are counted (docs/observability.md); null: nowhere.</param>
    /// <exception cref="ArgumentException">The connection string does not parse (see <see cref="Check"/>).</exception>
    public RedisSessionStore(RedisSessionOptions options, SessionContextLimits limits, ILogger logger, McpdMetrics? metrics = null)
    {
        _metrics = metrics;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        _limits = limits;
        _sessionKeyPrefix = options.KeyPrefix + "session:";
        _nodeKeyPrefix = options.KeyPrefix + "node:";
        _clientKeyPrefix = options.KeyPrefix + "client:";
        _liveKey = options.KeyPrefix + "live-sessions";
        _maxSessions = options.MaxSessions;

        var configuration = ParseConfiguration(options.ConnectionString);
        configuration.AbortOnConnectFail = false; // keep retrying in the background, whatever the string says
        // While the connection is known to be down a call fails at once (UNAVAILABLE) instead of queueing for the
        // async timeout: a request path wants a prompt answer, and the client can retry.
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        // The heartbeat is when the client times calls out and tries to reconnect: twice a second keeps a call on a
        // hung Redis under asyncTimeout + 0.5 s, and notices Redis's return within half a second of its back-off.
        configuration.HeartbeatInterval = TimeSpan.FromMilliseconds(500);
        configuration.ReconnectRetryPolicy = new ExponentialRetry(deltaBackOffMilliseconds: 500, maxDeltaBackOffMilliseconds: 5000);
        _endpoints = string.Join(",", configuration.EndPoints.Select(e => e.ToString()));
        _connecting = ConnectAsync(configuration);
    }

    /// <inheritdoc />
    public string Kind => SessionStoreKinds.Redis;

    /// <summary>Raised when the multiplexer restored its connection (Redis restarted, or the network came back).</summary>
    public event EventHandler? Restored;

    /// <summary>Reports what is wrong with <paramref name="options"/>, each problem prefixed with <paramref name="path"/> (e.g. <c>sessions:redis</c>).</summary>
    public static void Check(RedisSessionOptions options, string path, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(problems);
        try
        {
            if (ParseConfiguration(options.ConnectionString).EndPoints.Count == 0)
            {
                problems.Add($"{path}:connectionString: names no host:port");
            }
        }
        catch (ArgumentException e)
        {
            // The string is not echoed: it may hold a password.
            problems.Add($"{path}:connectionString: not a StackExchange.Redis configuration ({e.Message})");
        }
    }

    /// <inheritdoc />
    public async ValueTask<bool> CreateAsync(SessionInfo session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(session);
        var ttl = (long)session.Ttl.TotalMilliseconds;
        ArgumentOutOfRangeException.ThrowIfLessThan(ttl, 1, nameof(session));
        var created = session.CreatedAt.ToUnixTimeMilliseconds();
        if (_maxSessions > 0 && (long)await EvaluateAsync(ReserveScript, _liveKey, [session.Id, created + ttl, created, _maxSessions], cancellationToken) == 0)
        {
            return false;
        }

        RedisValue owner = session.Owner?.Bytes ?? ReadOnlyMemory<byte>.Empty;
        RedisValue[] arguments = session.Binding is { } binding
            ? [session.ClientId, ttl, created, owner, binding.NodeId, binding.Incarnation, binding.ConnectionId]
            : [session.ClientId, ttl, created, owner];
        return (long)await EvaluateAsync(CreateScript, SessionKey(session.Id), arguments, cancellationToken) == 1;
    }

    /// <inheritdoc />
    public async ValueTask<SessionInfo?> TouchAsync(string sessionId, CancellationToken cancellationToken)
    {
        var fields = await EvaluateAsync(TouchScript, SessionKey(sessionId), [], cancellationToken);
        return fields.IsNull ? null : ToSessionInfo(sessionId, fields);
    }

    /// <summary>One <c>HMGET</c> of the session's fields, without a script: nothing is extended.</summary>
    public async ValueTask<SessionInfo?> FindAsync(string sessionId, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        var fields = await CallAsync(database.HashGetAsync(SessionKey(sessionId), InfoFields), cancellationToken);
        // A key without its ttl field is no session (expired or never created), as in every script.
        return fields[1].IsNull ? null : ToSessionInfo(sessionId, RedisResult.Create(fields));
    }

    /// <inheritdoc />
    /// <remarks>
    /// Two round trips: the session's script, then the compare-and-delete of its clientId index entry, a key of its own
    /// (in a Redis Cluster it may live on another node, so one script cannot hold both). Between the two, or if the
    /// second fails, the entry names a session that is gone: every reader of the index checks the session it names.
    /// </remarks>
    public async ValueTask<bool> DeleteAsync(string sessionId, long epoch, CancellationToken cancellationToken)
    {
        var clientId = await EvaluateFencedAsync(DeleteScript, sessionId, [epoch], cancellationToken);
        if (clientId.IsNull)
        {
            return false;
        }

        // Both sent before either is awaited: one round trip.
        var database = await DatabaseAsync(cancellationToken);
        var release = EvaluateAsync(ReleaseClientScript, ClientKey((string)clientId!), [sessionId], cancellationToken);
        var leave = _maxSessions > 0 ? CallAsync(database.SortedSetRemoveAsync(_liveKey, sessionId), cancellationToken) : Task.FromResult(false);
        await Task.WhenAll(release, leave);
        return true;
    }

    /// <inheritdoc />
    /// <remarks>
    /// The entry is the string <c>{prefix}client:{clientId}</c> = the session id, expiring after the session's TTL from
    /// the last claim: session.open and session.resume claim it, and so does use of the session, at most once a third
    /// of its TTL (docs/sessions.md). A key of its own, not a field of the session's hash: it is found by client id.
    /// </remarks>
    public async ValueTask<ClientClaim> ClaimClientAsync(string clientId, string sessionId, TimeSpan ttl, string? ifCurrent, CancellationToken cancellationToken)
    {
        if (_maxSessions > 0)
        {
            // The session's place in the live-sessions set moves with it, sent in the same round trip (XX: a session
            // that left the set is not put back by this).
            var database = await DatabaseAsync(cancellationToken);
            _ = database.SortedSetAddAsync(_liveKey, sessionId, DateTimeOffset.UtcNow.Add(ttl).ToUnixTimeMilliseconds(), SortedSetWhen.Exists, CommandFlags.FireAndForget);
        }

        var claim = await EvaluateAsync(ClaimClientScript, ClientKey(clientId), [sessionId, (long)ttl.TotalMilliseconds, ifCurrent ?? ""], cancellationToken);
        return new ClientClaim((long)claim[0] == 1, claim.Length > 1 && !claim[1].IsNull ? (string?)claim[1] : null);
    }

    /// <inheritdoc />
    public async ValueTask<string?> GetClientSessionAsync(string clientId, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        return await CallAsync(database.StringGetAsync(ClientKey(clientId)), cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask<SessionRead> GetValueAsync(string sessionId, string key, long epoch, CancellationToken cancellationToken)
    {
        var value = await EvaluateFencedAsync(GetValueScript, sessionId, [epoch, ContextFieldPrefix + key], cancellationToken);
        return value.IsNull ? default : new SessionRead(true, (string?)value[0]);
    }

    /// <summary>Redis always answers over the network: false, the caller uses <see cref="GetValueAsync"/>.</summary>
    public bool TryGetValueNow(ReadOnlySpan<char> sessionId, ReadOnlySpan<char> key, long epoch, out SessionRead result)
    {
        result = default;
        return false;
    }

    /// <inheritdoc />
    public async ValueTask<IReadOnlyDictionary<string, string>?> GetAllAsync(string sessionId, long epoch, CancellationToken cancellationToken)
    {
        var pairs = await EvaluateFencedAsync(GetAllScript, sessionId, [epoch], cancellationToken);
        if (pairs.IsNull)
        {
            return null;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < pairs.Length; i += 2)
        {
            var field = (string)pairs[i]!;
            if (field.StartsWith(ContextFieldPrefix, StringComparison.Ordinal))
            {
                values[field[ContextFieldPrefix.Length..]] = (string)pairs[i + 1]!;
            }
        }

        return values;
    }

    /// <inheritdoc />
    public async ValueTask<SessionWrite> SetValuesAsync(string sessionId, IReadOnlyList<KeyValuePair<string, string>> values, long epoch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (_limits.Check(values) is { } refused)
        {
            return refused;
        }

        var arguments = new RedisValue[3 + (values.Count * 2)];
        (arguments[0], arguments[1], arguments[2]) = (epoch, _limits.MaxKeys, _limits.MaxContextBytes);
        for (var i = 0; i < values.Count; i++)
        {
            arguments[3 + (2 * i)] = ContextFieldPrefix + values[i].Key;
            arguments[4 + (2 * i)] = values[i].Value;
        }

        var result = await EvaluateFencedAsync(SetValuesScript, sessionId, arguments, cancellationToken);
        if (result.IsNull)
        {
            return SessionWrite.NoSession;
        }

        return (long)result[0] == 1 ? SessionWrite.Written : _limits.Check((int)result[1], (long)result[2]);
    }

    /// <inheritdoc />
    public async ValueTask<SessionBound?> BindAsync(string sessionId, SessionBinding binding, CancellationToken cancellationToken)
    {
        var bound = await EvaluateAsync(BindScript, SessionKey(sessionId), [binding.NodeId, binding.Incarnation, binding.ConnectionId], cancellationToken);
        if (bound.IsNull)
        {
            return null;
        }

        // A binding stored before incarnations existed has no boot: it names no live process, so it reads as an empty one.
        var previous = bound.Length < 4 || bound[1].IsNull || bound[3].IsNull
            ? (SessionBinding?)null
            : new SessionBinding((string)bound[1]!, (string?)bound[2] ?? "", (string)bound[3]!);
        return new SessionBound((long)bound[0], previous);
    }

    /// <inheritdoc />
    public async ValueTask UnbindAsync(string sessionId, SessionBinding binding, CancellationToken cancellationToken) =>
        await EvaluateAsync(UnbindScript, SessionKey(sessionId), [binding.NodeId, binding.Incarnation, binding.ConnectionId], cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> sessions found by <c>SCAN</c> (never <c>KEYS</c>) on every master: one Redis, or
    /// each master of a Redis Cluster (each holds its share of the keys), one SCAN per page of
    /// <see cref="ScanPageSize"/> keys, then the page's sessions read in one pipelined batch. Listing does not touch.
    /// A master that cannot be scanned fails the whole list (<see cref="SessionStoreUnavailableException"/>): a list
    /// is never silently partial.
    /// </summary>
    public async ValueTask<IReadOnlyList<SessionInfo>> ListAsync(int limit, CancellationToken cancellationToken)
    {
        if (limit <= 0)
        {
            return [];
        }

        var multiplexer = _connecting.IsCompletedSuccessfully ? _connecting.Result : await CallAsync(_connecting, cancellationToken);
        var database = multiplexer.GetDatabase();
        var pattern = EscapeGlob(_sessionKeyPrefix) + "*";
        var sessions = new List<SessionInfo>();
        foreach (var master in multiplexer.GetServers().Where(server => !server.IsReplica))
        {
            var cursor = "0";
            do
            {
                var page = await CallAsync(master.ExecuteAsync(database.Database, "SCAN", [cursor, "MATCH", pattern, "COUNT", ScanPageSize]), cancellationToken);
                cursor = (string)page[0]!;
                var keys = (RedisKey[])page[1]!;
                var wanted = keys.Take(limit - sessions.Count).ToList();
                var reads = await CallAsync(Task.WhenAll(wanted.Select(key => database.HashGetAsync(key, InfoFields))), cancellationToken);
                for (var i = 0; i < wanted.Count; i++)
                {
                    // Between SCAN and HMGET a session may have expired: its fields read as nil, and it is skipped.
                    if (!reads[i][1].IsNull)
                    {
                        sessions.Add(ToSessionInfo(((string)wanted[i]!)[_sessionKeyPrefix.Length..], RedisResult.Create(reads[i])));
                    }
                }
            }
            while (cursor != "0" && sessions.Count < limit);

            if (sessions.Count >= limit)
            {
                break;
            }
        }

        return sessions;
    }

    /// <inheritdoc />
    public async ValueTask<NodeAnnouncement?> PublishNodeAsync(string nodeId, NodeAnnouncement announcement, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var holder = await EvaluateAsync(PublishNodeScript, _nodeKeyPrefix + nodeId, [announcement.Incarnation, announcement.Address, (long)ttl.TotalMilliseconds], cancellationToken);
        return holder.IsNull ? null : ToAnnouncement((string)holder!);
    }

    /// <inheritdoc />
    public async ValueTask<NodeAnnouncement?> GetNodeAsync(string nodeId, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        var value = await CallAsync(database.StringGetAsync(_nodeKeyPrefix + nodeId), cancellationToken);
        return value.IsNull ? null : ToAnnouncement((string)value!);
    }

    /// <summary>"incarnation host:port"; a bare address (written by an mcpd without incarnations) has none, and matches no binding.</summary>
    private static NodeAnnouncement ToAnnouncement(string value) =>
        value.IndexOf(' ', StringComparison.Ordinal) is var space and >= 0
            ? new NodeAnnouncement(value[(space + 1)..], value[..space])
            : new NodeAnnouncement(value, "");

    /// <summary>Closes the connection (after the first connection attempt, which lasts at most the connect timeout).</summary>
    public async ValueTask DisposeAsync()
    {
        var multiplexer = await _connecting;
        multiplexer.ConnectionFailed -= OnConnectionFailed;
        multiplexer.ConnectionRestored -= OnConnectionRestored;
        await multiplexer.DisposeAsync();
    }

    private static ConfigurationOptions ParseConfiguration(string connectionString) =>
        ConfigurationOptions.Parse(DefaultConfiguration + connectionString);

    /// <summary>SCAN MATCH is a glob: a prefix with <c>*?[]\</c> in it must match literally.</summary>
    private static string EscapeGlob(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }

    /// <summary>A session from the <see cref="InfoFields"/> in their order.</summary>
    private static SessionInfo ToSessionInfo(string sessionId, RedisResult fields)
    {
        // A binding stored before incarnations existed has no boot: it matches no live incarnation, so it is dead.
        var binding = fields[3].IsNull || fields[4].IsNull ? (SessionBinding?)null : new SessionBinding((string)fields[3]!, (string?)fields[6] ?? "", (string)fields[4]!);
        return new SessionInfo(
            sessionId,
            (string)fields[0]!,
            TimeSpan.FromMilliseconds(long.Parse((string)fields[1]!, CultureInfo.InvariantCulture)),
            DateTimeOffset.FromUnixTimeMilliseconds(long.Parse((string)fields[2]!, CultureInfo.InvariantCulture)),
            binding,
            fields[5].IsNull ? null : SessionOwner.FromBytes((byte[])fields[5]!),
            fields[7].IsNull ? 0 : long.Parse((string)fields[7]!, CultureInfo.InvariantCulture));
    }

    private RedisKey SessionKey(string sessionId) => _sessionKeyPrefix + sessionId;

    private RedisKey ClientKey(string clientId) => _clientKeyPrefix + clientId;

    private async Task<ConnectionMultiplexer> ConnectAsync(ConfigurationOptions configuration)
    {
        // With AbortOnConnectFail off this returns after the first attempt even when Redis is down, and the
        // multiplexer keeps reconnecting by itself; only a broken configuration throws.
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        multiplexer.ConnectionFailed += OnConnectionFailed;
        multiplexer.ConnectionRestored += OnConnectionRestored;
        if (!multiplexer.IsConnected)
        {
            MarkUnreachable("not reachable at start");
        }

        return multiplexer;
    }

    private async ValueTask<IDatabase> DatabaseAsync(CancellationToken cancellationToken)
    {
        var multiplexer = _connecting.IsCompletedSuccessfully ? _connecting.Result : await CallAsync(_connecting, cancellationToken);
        return multiplexer.GetDatabase();
    }

    /// <summary>Runs <paramref name="script"/> by its SHA-1 in one round trip; see the class remarks for NOSCRIPT.</summary>
    private async Task<RedisResult> EvaluateAsync(Script script, RedisKey key, RedisValue[] arguments, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken);
        RedisKey[] keys = [key];
        try
        {
            return await CallAsync(database.ScriptEvaluateAsync(script.Sha1, keys, arguments), cancellationToken);
        }
        catch (SessionStoreUnavailableException e) when (e.InnerException is RedisServerException inner && inner.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // Redis restarted (or its scripts were flushed) since this script was last run: EVAL sends the source,
            // and caches it again for the EVALSHAs after it. NoScriptCache: the client must not swap in a SHA of its own.
            return await CallAsync(database.ScriptEvaluateAsync(script.Source, keys, arguments, CommandFlags.NoScriptCache), cancellationToken);
        }
    }

    /// <summary>Runs a fenced script (ARGV[1] the caller's epoch) on the session; <see cref="SessionTakenOverException"/> when it answers <see cref="TakenOver"/>.</summary>
    private async Task<RedisResult> EvaluateFencedAsync(Script script, string sessionId, RedisValue[] arguments, CancellationToken cancellationToken)
    {
        var result = await EvaluateAsync(script, SessionKey(sessionId), arguments, cancellationToken);
        return result.Resp2Type == ResultType.Integer && (long)result == TakenOver ? throw new SessionTakenOverException(sessionId) : result;
    }

    /// <summary>Awaits a Redis call; every failure of Redis or of the way to it becomes <see cref="SessionStoreUnavailableException"/>.</summary>
    private async Task<T> CallAsync<T>(Task<T> call, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call.WaitAsync(cancellationToken);
            _metrics?.RedisCall(Stopwatch.GetElapsedTime(started), error: null);
            if (Volatile.Read(ref _reachable) == 0)
            {
                MarkReachable();
            }

            return result;
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            // The client's own messages run to a screenful of diagnostics: say what happened in a few words and keep
            // them in the inner exception.
            var reason = e switch
            {
                RedisConnectionException connection => $"no connection ({connection.FailureType})",
                RedisTimeoutException => "Redis did not answer in time",
                _ => e.Message, // a server error (OOM, READONLY, LOADING, ...): short, and says it all
            };
            if (e is not RedisServerException)
            {
                MarkUnreachable(reason);
            }

            _metrics?.RedisCall(Stopwatch.GetElapsedTime(started), e switch
            {
                RedisConnectionException => "connection",
                RedisTimeoutException => "timeout",
                _ => "server",
            });

            throw new SessionStoreUnavailableException($"The session store (Redis at {_endpoints}) is unavailable: {reason}", e);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            MarkUnreachable(e.FailureType.ToString());
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            MarkReachable();
            Restored?.Invoke(this, EventArgs.Empty);
        }
    }

    /// <summary>Logs the return once: from the multiplexer's event or from the first call that succeeds, whichever comes first.</summary>
    private void MarkReachable()
    {
        if (Interlocked.Exchange(ref _reachable, 1) == 0)
        {
            LogReachable(_logger, _endpoints);
        }
    }

    private void MarkUnreachable(string reason)
    {
        if (Interlocked.Exchange(ref _reachable, 0) == 1)
        {
            LogUnreachable(_logger, _endpoints, reason);
        }
    }

    [LoggerMessage(EventId = 900, Level = LogLevel.Warning, Message = "Session store: Redis at {Endpoints} is unreachable ({Reason}); session calls answer UNAVAILABLE until it returns")]
    private static partial void LogUnreachable(ILogger logger, string endpoints, string reason);

    [LoggerMessage(EventId = 901, Level = LogLevel.Information, Message = "Session store: Redis at {Endpoints} is reachable again")]
    private static partial void LogReachable(ILogger logger, string endpoints);

    /// <summary>A Lua script and its SHA-1 (what EVALSHA names it by), computed once.</summary>
    private sealed class Script(string source)
    {
        public string Source { get; } = source;

#pragma warning disable CA5350 // SHA-1 is how Redis names a script (EVALSHA), not a protection of anything.
        public byte[] Sha1 { get; } = SHA1.HashData(Encoding.UTF8.GetBytes(source));
#pragma warning restore CA5350
    }
}
