using System.Collections;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Telemetry;

/// <summary>
/// The logging scope of a request: <c>TraceId</c>. Begun with <see cref="ILogger.BeginScope{TState}"/>, it is part of
/// every line logged while the request runs, on its connection, in a lane's worker or in a handler (the console
/// formats print scopes; JSON as a <c>TraceId</c> property).
/// </summary>
internal sealed class TraceScope(string traceId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public const string TraceIdKey = "TraceId";

    public string TraceId { get; } = traceId;

    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] =>
        index == 0 ? new(TraceIdKey, TraceId) : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>Begins the scope of the request with <paramref name="traceId"/> on <paramref name="logger"/>'s factory.</summary>
    public static IDisposable? Begin(ILogger logger, string traceId) => logger.BeginScope(new TraceScope(traceId));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The simple console format prints a scope as this text: <c>=&gt; TraceId:4bf92f35...</c>.</summary>
    public override string ToString() => $"{TraceIdKey}:{TraceId}";
}
