namespace Mcpd.Client.Mcp;

/// <summary>
/// The session a request belongs to (docs/sessions.md): named by its <c>session</c> header or bound to its connection by
/// <c>session.open</c> / <c>session.resume</c>. Handlers read and write its context; every use extends its TTL.
/// </summary>
public interface ISessionState
{
    /// <summary>The session id.</summary>
    string Id { get; }

    /// <summary>A context value, or null when the key is not set.</summary>
    /// <exception cref="IOException">The session expired, or its store cannot be reached.</exception>
    ValueTask<string?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Sets a context value; an empty value removes the key.</summary>
    /// <exception cref="IOException">The session expired, its store cannot be reached, or its store is full.</exception>
    /// <exception cref="ArgumentException">The value, or the context with it, is larger than the server's session limits allow.</exception>
    ValueTask SetAsync(string key, string value, CancellationToken cancellationToken = default);
}
