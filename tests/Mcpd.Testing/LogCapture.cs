using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Mcpd.Testing;

/// <summary>
/// A logger provider that keeps every formatted line with the values of its scopes (the trace id of the request it
/// was logged for), so tests can assert what an operator would read.
/// </summary>
public sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<LogLine> _lines = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public IReadOnlyCollection<LogLine> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, _lines, this);

    /// <summary>The logger factory's scopes: a scope begun on any of its loggers is seen here.</summary>
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    /// <summary>Waits until a line containing <paramref name="text"/> was logged, or fails after <paramref name="timeout"/>.</summary>
    public async Task<LogLine> WaitForAsync(string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            var line = _lines.FirstOrDefault(l => l.Message.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No log line containing '{text}'. Logged:\n{string.Join('\n', _lines.Select(l => l.Message))}");
    }

    public void Dispose()
    {
    }

    /// <summary>The key/value pairs of the scopes in force, outermost first; a scope that is not key/value pairs is under "Scope".</summary>
    private List<KeyValuePair<string, object?>> CurrentScopes()
    {
        var values = new List<KeyValuePair<string, object?>>();
        _scopes.ForEachScope(static (scope, values) =>
        {
            if (scope is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                values.AddRange(pairs);
            }
            else if (scope is not null)
            {
                values.Add(new("Scope", scope.ToString()));
            }
        }, values);
        return values;
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<LogLine> lines, LogCapture capture) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => capture._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue(new LogLine(category, logLevel, eventId, formatter(state, exception), capture.CurrentScopes()));
    }
}

/// <summary>One captured log event, with the values of the scopes it was logged in.</summary>
public sealed record LogLine(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyList<KeyValuePair<string, object?>> Scopes)
{
    /// <summary>The value of scope key <paramref name="key"/> (innermost wins), or null.</summary>
    public string? Scope(string key) => Scopes.LastOrDefault(pair => pair.Key == key).Value?.ToString();
}
