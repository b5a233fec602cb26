using System.Collections.Concurrent;

namespace Mcpd.Server.Sessions;

/// <summary>
/// Calls in flight per target session, each bounded (<see cref="SessionsOptions.MaxCallsPerTarget"/>): a target with no
/// call in flight holds no entry. Lock-free; an entry's count only moves by compare-and-swap.
/// </summary>
internal sealed class CallsInFlight
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>Counts one more call to <paramref name="target"/>; false (nothing counted) when <paramref name="limit"/> are in flight.</summary>
    public bool TryEnter(string target, int limit)
    {
        while (true)
        {
            if (_counts.TryGetValue(target, out var count))
            {
                if (count >= limit)
                {
                    return false;
                }

                if (_counts.TryUpdate(target, count + 1, count))
                {
                    return true;
                }
            }
            else if (_counts.TryAdd(target, 1))
            {
                return true;
            }
        }
    }

    /// <summary>Counts a call to <paramref name="target"/> that <see cref="TryEnter"/> admitted as done.</summary>
    public void Exit(string target)
    {
        while (true)
        {
            var count = _counts[target];
            if (count == 1 ? _counts.TryRemove(new KeyValuePair<string, int>(target, 1)) : _counts.TryUpdate(target, count - 1, count))
            {
                return;
            }
        }
    }
}
