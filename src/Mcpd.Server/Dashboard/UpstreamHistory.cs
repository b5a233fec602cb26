using Mcpd.Server.Gateway;

namespace Mcpd.Server.Dashboard;

/// <summary>
/// The health history of every upstream, for the dashboard: each time <see cref="Sample"/> runs (every second) a state
/// that differs from the last one seen is kept with its time, the last <see cref="Changes"/> per upstream.
/// </summary>
internal sealed class UpstreamHistory(UpstreamRegistry upstreams, TimeProvider time)
{
    /// <summary>State changes kept per upstream.</summary>
    public const int Changes = 20;

    private readonly Dictionary<string, Queue<UpstreamChange>> _changes = new(StringComparer.Ordinal);

    public void Sample()
    {
        var now = time.GetUtcNow();
        lock (_changes)
        {
            foreach (var upstream in upstreams.All)
            {
                var state = upstream.State.ToString();
                if (!_changes.TryGetValue(upstream.Name, out var changes))
                {
                    changes = new Queue<UpstreamChange>();
                    _changes[upstream.Name] = changes;
                }

                if (changes.Count == 0 || changes.Last().State != state)
                {
                    if (changes.Count == Changes)
                    {
                        changes.Dequeue();
                    }

                    changes.Enqueue(new UpstreamChange(now, state));
                }
            }
        }
    }

    /// <summary>Every upstream as <c>/api/upstreams</c> has it (kind, address, state), with its recent changes of state, oldest first.</summary>
    public Dictionary<string, UpstreamView> Describe()
    {
        lock (_changes)
        {
            return upstreams.All.ToDictionary(
                u => u.Name,
                u => new UpstreamView(u.Kind, u.Address, u.State.ToString(), _changes.TryGetValue(u.Name, out var changes) ? [.. changes] : []),
                StringComparer.Ordinal);
        }
    }
}

/// <summary>An upstream's state since <see cref="At"/>.</summary>
internal sealed record UpstreamChange(DateTimeOffset At, string State);

/// <summary>An upstream as the dashboard's live stream sends it.</summary>
internal sealed record UpstreamView(string Kind, string? Address, string State, IReadOnlyList<UpstreamChange> History);
