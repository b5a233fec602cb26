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
    ValueTask<bool> DeleteAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>Touches the session and reads one context value.</summary>
    ValueTask<SessionRead> GetValueAsync(string sessionId, string key, CancellationToken cancellationToken);

    /// <summary>Touches the session and reads its whole context; null when the session is unknown or expired.</summary>
    ValueTask<IReadOnlyDictionary<string, string>?> GetAllAsync(string sessionId, CancellationToken cancellationToken);

    /// <summary>
    /// Touches the session and sets context values (an empty value removes the key), all or none: nothing is written
    /// when the session is unknown or expired, when the context would cross a bound of <see cref="SessionContextLimits"/>,
    /// or when the store has no room.
    /// </summary>
    ValueTask<SessionWrite> SetValuesAsync(string sessionId, IReadOnlyList<KeyValuePair<string, string>> values, CancellationToken cancellationToken);

    /// <summary>Records which node holds the session's live connection; false when the session is unknown or expired.</summary>
    ValueTask<bool> BindAsync(string sessionId, SessionBinding binding, CancellationToken cancellationToken);

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
    /// an <see cref="SessionInfo.Owner"/> when <paramref name="ownerProven"/> is false (the session is left untouched,
    /// for the caller to check its owner first).
    /// </summary>
    /// <param name="sessionId">The session.</param>
    /// <param name="key">The context key.</param>
    /// <param name="ownerProven">True when the caller has proven it is the session's owner (its connection opened or resumed the session).</param>
    /// <param name="result">The read, when the method returns true.</param>
    bool TryGetValueNow(ReadOnlySpan<char> sessionId, ReadOnlySpan<char> key, bool ownerProven, out SessionRead result);
}

/// <summary>A session as stored.</summary>
/// <param name="Id">128-bit random, URL-safe base64 (22 characters).</param>
/// <param name="ClientId">Who opened it.</param>
/// <param name="Ttl">Sliding expiry: the session ends this long after its last use.</param>
/// <param name="CreatedAt">When it was opened.</param>
/// <param name="Binding">The node and connection that hold it now, if any.</param>
/// <param name="Owner">What proves the client that opened it; null: none, the id alone is the bearer secret.</param>
public sealed record SessionInfo(string Id, string ClientId, TimeSpan Ttl, DateTimeOffset CreatedAt, SessionBinding? Binding = null, SessionOwner? Owner = null);

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

/// <summary>The result of reading one context value.</summary>
/// <param name="SessionFound">False when the session is unknown or expired.</param>
/// <param name="Value">The value; null when the key is not set.</param>
public readonly record struct SessionRead(bool SessionFound, string? Value);

/// <summary>The session store's backend cannot be reached; session calls answer UNAVAILABLE until it returns.</summary>
public sealed class SessionStoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
