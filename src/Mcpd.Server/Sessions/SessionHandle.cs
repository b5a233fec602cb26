using Mcpd.Client.Mcp;

namespace Mcpd.Server.Sessions;

/// <summary>A session as a handler sees it (<see cref="McpIncomingRequest.Session"/>): context reads and writes go to the store.</summary>
internal sealed class SessionHandle(ISessionStore store, string id) : ISessionState
{
    public string Id { get; } = id;

    public async ValueTask<string?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        var read = await Guard(store.GetValueAsync(Id, key, cancellationToken));
        return read.SessionFound ? read.Value : throw Expired();
    }

    public async ValueTask SetAsync(string key, string value, CancellationToken cancellationToken = default)
    {
        var write = await Guard(store.SetValuesAsync(Id, [new(key, value)], cancellationToken));
        switch (write.Status)
        {
            case SessionWriteStatus.NoSession:
                throw Expired();
            case SessionWriteStatus.TooLarge:
                throw new ArgumentException($"Session {SessionIds.Redact(Id)}: {write.Problem}.", nameof(value));
            case SessionWriteStatus.StoreFull:
                throw new IOException($"Session {SessionIds.Redact(Id)}: {write.Problem}.");
        }
    }

    private IOException Expired() => new($"Session {SessionIds.Redact(Id)} has expired.");

    private static async ValueTask<T> Guard<T>(ValueTask<T> operation)
    {
        try
        {
            return await operation;
        }
        catch (SessionStoreUnavailableException ex)
        {
            throw new IOException(ex.Message, ex);
        }
    }
}
