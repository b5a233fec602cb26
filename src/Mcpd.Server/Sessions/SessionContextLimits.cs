using System.Text;

namespace Mcpd.Server.Sessions;

/// <summary>
/// The bounds of one session's context (docs/sessions.md, "Limits"), the same in every store: sizes are UTF-8 bytes,
/// as the client sends them, and the context's size is its keys and values together. A write that would cross a bound
/// is refused whole (<see cref="SessionWriteStatus.TooLarge"/>, answered BAD_REQUEST): retrying it cannot help.
/// </summary>
/// <param name="MaxValueBytes">Largest value (<c>sessions.maxValueBytes</c>).</param>
/// <param name="MaxKeys">Most keys in a context, and named by one write (<c>sessions.maxKeys</c>).</param>
/// <param name="MaxContextBytes">Largest context, keys and values (<c>sessions.maxContextBytes</c>).</param>
public sealed record SessionContextLimits(int MaxValueBytes, int MaxKeys, int MaxContextBytes)
{
    /// <summary>The limits <paramref name="options"/> configure.</summary>
    public static SessionContextLimits From(SessionsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new(options.MaxValueBytes, options.MaxKeys, options.MaxContextBytes);
    }

    /// <summary>What the context of one key and its value costs: their UTF-8 bytes.</summary>
    public static int SizeOf(string key, string value) => Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value);

    /// <summary>The refusal of a write that no context could take (too many keys, a value too large); null when it may be tried.</summary>
    public SessionWrite? Check(IReadOnlyList<KeyValuePair<string, string>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count > MaxKeys)
        {
            return SessionWrite.TooLarge($"the write names {values.Count} keys; sessions.maxKeys is {MaxKeys}");
        }

        foreach (var (key, value) in values)
        {
            var bytes = Encoding.UTF8.GetByteCount(value);
            if (bytes > MaxValueBytes)
            {
                return SessionWrite.TooLarge($"the value of '{key}' has {bytes} bytes; sessions.maxValueBytes is {MaxValueBytes}");
            }
        }

        return null;
    }

    /// <summary>Whether a context of <paramref name="keys"/> keys and <paramref name="bytes"/> bytes is within the limits.</summary>
    public SessionWrite Check(int keys, long bytes) =>
        keys > MaxKeys ? SessionWrite.TooLarge($"the context would hold {keys} keys; sessions.maxKeys is {MaxKeys}")
        : bytes > MaxContextBytes ? SessionWrite.TooLarge($"the context would hold {bytes} bytes; sessions.maxContextBytes is {MaxContextBytes}")
        : SessionWrite.Written;
}

/// <summary>How a write of context values ended.</summary>
public enum SessionWriteStatus
{
    /// <summary>Every value was set (or removed).</summary>
    Written,

    /// <summary>The session is unknown or expired: nothing was written.</summary>
    NoSession,

    /// <summary>The write would cross a bound of <see cref="SessionContextLimits"/>: nothing was written.</summary>
    TooLarge,

    /// <summary>The store has no room for what the write adds (in memory, <c>sessions.maxStoreBytes</c>): nothing was written.</summary>
    StoreFull,
}

/// <summary>The result of <see cref="ISessionStore.SetValuesAsync"/>: its status, and for a refusal what was too large.</summary>
public readonly record struct SessionWrite(SessionWriteStatus Status, string? Problem = null)
{
    /// <summary>Every value was set.</summary>
    public static SessionWrite Written => new(SessionWriteStatus.Written);

    /// <summary>The session is unknown or expired.</summary>
    public static SessionWrite NoSession => new(SessionWriteStatus.NoSession);

    /// <summary>A bound of the context would be crossed, as <paramref name="problem"/> says.</summary>
    public static SessionWrite TooLarge(string problem) => new(SessionWriteStatus.TooLarge, problem);

    /// <summary>The store is full, as <paramref name="problem"/> says.</summary>
    public static SessionWrite StoreFull(string problem) => new(SessionWriteStatus.StoreFull, problem);
}
