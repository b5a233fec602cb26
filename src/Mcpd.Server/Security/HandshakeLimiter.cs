namespace Mcpd.Server.Security;

/// <summary>
/// The TLS handshakes in progress on one listener, at most <see cref="Limit"/>: a handshake costs the server public-key
/// operations, so a client opening connections without finishing them could otherwise keep a core busy.
/// </summary>
public sealed class HandshakeLimiter(int limit)
{
    private int _inProgress;

    /// <summary>The most handshakes in progress at once.</summary>
    public int Limit { get; } = limit;

    /// <summary>Handshakes in progress now.</summary>
    public int InProgress => Volatile.Read(ref _inProgress);

    /// <summary>Takes a place for a handshake; false when all are taken (the connection is to be closed).</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _inProgress) <= Limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _inProgress);
        return false;
    }

    /// <summary>Gives back a place taken by <see cref="TryEnter"/>, once the handshake has ended either way.</summary>
    public void Exit() => Interlocked.Decrement(ref _inProgress);
}
