namespace Mcpd.Server.Sessions;

/// <summary>
/// Where sessions live (docs/sessions.md): in memory for one node, in Redis when several nodes share them. The store
/// enforces expiry itself (sliding: every access that finds a session extends it by its TTL); nobody runs a timer per
/// session. Every method that finds a session also touches it, in the same round trip. A store that cannot reach its
/// backend throws <see cref="SessionStoreUnavailableException"/>.
/// </summary>
public interface ISessionStore
{
    /// <summary>"memory" or "redis", for logs and status.</summary>
    string Kind { get; }

    /// <summary>Raised when the store's backend can be reached again after it could not (never, in memory).</summary>
    event EventHandler? Restored;

    /// <summary>Stores a new session; false when the store is full.</summary>
    ValueTask<bool> CreateAsync(SessionInfo session, CancellationToken cancellationToken);

    /// <summary>Extends the session by its TTL and returns it; null when it is unknown or expired.</summary>
    ValueTask<SessionInfo?> TouchAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>
    /// The session without extending it; null when it is unknown or expired. A look that is no use of the session: who
    /// may use it is decided from its <see cref="SessionInfo.Owner"/> first, so that a caller refused cannot keep
    /// someone else's session alive.
    /// </summary>
    ValueTask<SessionInfo?> FindAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>Ends the session; false when it was unknown or expired.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="epoch">The <see cref="SessionBound.Epoch"/> the caller's connection was bound with; 0 for a caller
    /// that holds no binding (nothing is checked). When the session's epoch is another, a newer connection took the
    /// session over: the store changes nothing and throws <see cref="SessionTakenOverException"/>.</param>
    /// <param name="cancellationToken">Cancels the wait for the store.</param>
    ValueTask<bool> DeleteAsync(string sessionId, long epoch, CancellationToken cancellationToken);

    /// <summary>Touches the session and reads one context value.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="key">The context key.</param>
    /// <param name="epoch">The <see cref="SessionBound.Epoch"/> the caller's connection was bound with; 0 for a caller
    /// that holds no binding (nothing is checked). When the session's epoch is another, a newer connection took the
    /// session over: the store changes nothing and throws <see cref="SessionTakenOverException"/>.</param>
    /// <param name="cancellationToken">Cancels the wait for the store.</param>
    ValueTask<SessionRead> GetValueAsync(string sessionId, string key, long epoch, CancellationToken cancellationToken);

    /// <summary>Touches the session and reads its whole context; null when the session is unknown or expired.</summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="epoch">The <see cref="SessionBound.Epoch"/> the caller's connection was bound with; 0 for a caller
    /// that holds no binding (nothing is checked). When the session's epoch is another, a newer connection took the
    /// session over: the store changes nothing and throws <see cref="SessionTakenOverException"/>.</param>
    /// <param name="cancellationToken">Cancels the wait for the store.</param>
    ValueTask<IReadOnlyDictionary<string, string>?> GetAllAsync(string sessionId, long epoch, CancellationToken cancellationToken);

    /// <summary>
    /// Touches the session and sets context values (an empty value removes the key), all or none: nothing is written
    /// when the session is unknown or expired, when the context would cross a bound of <see cref="SessionContextLimits"/>,
    /// or when the store has no room.
    /// </summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="values">Keys and values; an empty value removes its key.</param>
    /// <param name="epoch">The <see cref="SessionBound.Epoch"/> the caller's connection was bound with; 0 for a caller
    /// that holds no binding (nothing is checked). When the session's epoch is another, a newer connection took the
    /// session over: the store changes nothing and throws <see cref="SessionTakenOverException"/>.</param>
    /// <param name="cancellationToken">Cancels the wait for the store.</param>
    ValueTask<SessionWrite> SetValuesAsync(string sessionId, IReadOnlyList<KeyValuePair<string, string>> values, long epoch, CancellationToken cancellationToken);

    /// <summary>
    /// Makes <paramref name="binding"/> the session's one owner connection: in one atomic step the session's epoch (the
    /// fencing token) goes up by one and the binding is replaced, and the previous binding is returned, for its
    /// connection to be told that it lost the session. Null when the session is unknown or expired.
    /// </summary>
    ValueTask<SessionBound?> BindAsync(string sessionId, SessionBinding binding, CancellationToken cancellationToken);

    /// <summary>
    /// The clientId index (docs/sessions.md, "One session per client id"): makes the entry of <paramref name="clientId"/>
    /// name <paramref name="sessionId"/> (in Redis for <paramref name="ttl"/>), in one atomic step, when it names nothing,
    /// or <paramref name="ifCurrent"/>, or whatever it names when <paramref name="ifCurrent"/> is null. Returns whether it
    /// did, and what the entry named before (it may be a session that has ended since: the caller checks). Deleting a
    /// session removes its entry, if the entry still names it.
    /// </summary>
    ValueTask<ClientClaim> ClaimClientAsync(string clientId, string sessionId, TimeSpan ttl, string? ifCurrent, CancellationToken cancellationToken);

    /// <summary>The session the clientId index names for <paramref name="clientId"/>, or null; it may have ended since (the caller checks).</summary>
    ValueTask<string?> GetClientSessionAsync(string clientId, CancellationToken cancellationToken);

    /// <summary>Forgets the live connection, if it is still <paramref name="binding"/> (a newer one on another node stays).</summary>
    ValueTask UnbindAsync(string sessionId, SessionBinding binding, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> live sessions, for operators.</summary>
    ValueTask<IReadOnlyList<SessionInfo>> ListAsync(int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Announces that this incarnation of <paramref name="nodeId"/> is alive (<paramref name="announcement"/>) for
    /// <paramref name="ttl"/>, in one atomic step: unless another incarnation's announcement of the same node id is
    /// still live. Then nothing is written and that announcement is returned; null when this one was written.
    /// </summary>
    ValueTask<NodeAnnouncement?> PublishNodeAsync(string nodeId, NodeAnnouncement announcement, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>The live announcement of a node, or null when it expired (the node is gone).</summary>
    ValueTask<NodeAnnouncement?> GetNodeAsync(string nodeId, CancellationToken cancellationToken);

    /// <summary>
    /// The allocation-free fast path of <see cref="GetValueAsync"/> for a store that can answer at once (in memory):
    /// true with the result; false when the caller must use <see cref="GetValueAsync"/>, which includes a session with
    /// an <see cref="SessionInfo.Owner"/> when <paramref name="epoch"/> is 0 (the session is left untouched, for the
    /// caller to check its owner first), and a session whose epoch is no longer <paramref name="epoch"/>.
    /// </summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="key">The context key.</param>
    /// <param name="epoch">The epoch the caller's connection was bound with when it opened or resumed the session, so
    /// proved its owner; 0 when the caller holds no binding (no proof).</param>
    /// <param name="result">The read, when the method returns true.</param>
    bool TryGetValueNow(ReadOnlySpan<char> sessionId, ReadOnlySpan<char> key, long epoch, out SessionRead result);
}

/// <summary>A session as stored.</summary>
/// <param name="Id">128-bit random, URL-safe base64 (22 characters).</param>
/// <param name="ClientId">Who opened it.</param>
/// <param name="Ttl">Sliding expiry: the session ends this long after its last use.</param>
/// <param name="CreatedAt">When it was opened.</param>
/// <param name="Binding">The node and connection that hold it now, if any.</param>
/// <param name="Owner">What proves the client that opened it; null: none, the id alone is the bearer secret.</param>
/// <param name="Epoch">The fencing token: how many times the session was bound (opened or resumed); 0 before the first bind.</param>
public sealed record SessionInfo(string Id, string ClientId, TimeSpan Ttl, DateTimeOffset CreatedAt, SessionBinding? Binding = null, SessionOwner? Owner = null, long Epoch = 0);

/// <summary>
/// Where a session's live connection is: a node, the run of its process (connection ids start again in every
/// process), and a connection of that run. A binding whose incarnation is not the node's live one is dead.
/// </summary>
/// <param name="NodeId">The node (cluster:nodeId).</param>
/// <param name="Incarnation">The node process's boot id (<see cref="ClusterNode.Incarnation"/>), random per process.</param>
/// <param name="ConnectionId">Kestrel's connection id in that process.</param>
public readonly record struct SessionBinding(string NodeId, string Incarnation, string ConnectionId);

/// <summary>A node's announcement: where its MCP listener is, and which run of the process is there.</summary>
/// <param name="Address">host:port of the node's MCP listener.</param>
/// <param name="Incarnation">The process's boot id (<see cref="ClusterNode.Incarnation"/>).</param>
public readonly record struct NodeAnnouncement(string Address, string Incarnation);

/// <summary>A session just bound (<see cref="ISessionStore.BindAsync"/>).</summary>
/// <param name="Epoch">The session's new epoch, this binding's fencing token: the store refuses operations that carry an older one.</param>
/// <param name="Previous">The binding it replaced, if any: its connection has lost the session.</param>
public readonly record struct SessionBound(long Epoch, SessionBinding? Previous);

/// <summary>The result of <see cref="ISessionStore.ClaimClientAsync"/>.</summary>
/// <param name="Claimed">True when the entry now names the session.</param>
/// <param name="Previous">What the entry named before; null: nothing.</param>
public readonly record struct ClientClaim(bool Claimed, string? Previous);

/// <summary>The result of reading one context value.</summary>
/// <param name="SessionFound">False when the session is unknown or expired.</param>
/// <param name="Value">The value; null when the key is not set.</param>
public readonly record struct SessionRead(bool SessionFound, string? Value);

/// <summary>The session store's backend cannot be reached; session calls answer UNAVAILABLE until it returns.</summary>
public sealed class SessionStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A connection acted on a session that a newer connection has taken over since it bound it (its epoch is stale):
/// nothing was done; the connection has lost the session (docs/sessions.md, "One owner").
/// </summary>
public sealed class SessionTakenOverException(string sessionId)
    : Exception($"Session {SessionIds.Redact(sessionId)} was taken over by another connection; resume it to use it here again.")
{
    /// <summary>The session.</summary>
    public string SessionId { get; } = sessionId;
}
