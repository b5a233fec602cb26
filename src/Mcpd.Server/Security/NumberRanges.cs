using System.Globalization;

namespace Mcpd.Server.Security;

/// <summary>
/// A set of whole numbers written as numbers and ranges ("0-99, 200"), held merged and sorted so that a span of
/// numbers is inside the set exactly when it is inside one of its ranges.
/// </summary>
public sealed class NumberRanges
{
    private readonly (int First, int Last)[] _ranges;

    private NumberRanges((int First, int Last)[] ranges) => _ranges = ranges;

    /// <summary>True when every number of <paramref name="first"/>..<paramref name="last"/> is in the set.</summary>
    public bool Contains(int first, int last)
    {
        foreach (var (rangeFirst, rangeLast) in _ranges)
        {
            if (first >= rangeFirst && last <= rangeLast)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads <paramref name="text"/>; numbers must lie in 0..<paramref name="max"/>. On failure <paramref name="problem"/> says why.</summary>
    public static bool TryParse(string text, int max, out NumberRanges ranges, out string? problem)
    {
        ranges = new NumberRanges([]);
        var parsed = new List<(int First, int Last)>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            var (firstText, lastText) = dash < 0 ? (part, part) : (part[..dash].Trim(), part[(dash + 1)..].Trim());
            if (!int.TryParse(firstText, NumberStyles.None, CultureInfo.InvariantCulture, out var first)
                || !int.TryParse(lastText, NumberStyles.None, CultureInfo.InvariantCulture, out var last))
            {
                problem = $"'{part}' is not a number or a range such as 0-99";
                return false;
            }

            if (first > last || last > max)
            {
                problem = $"'{part}' is not a range within 0..{max}";
                return false;
            }

            parsed.Add((first, last));
        }

        parsed.Sort();
        var merged = new List<(int First, int Last)>();
        foreach (var range in parsed)
        {
            if (merged.Count > 0 && range.First <= merged[^1].Last + 1)
            {
                merged[^1] = (merged[^1].First, Math.Max(merged[^1].Last, range.Last));
            }
            else
            {
                merged.Add(range);
            }
        }

        ranges = new NumberRanges([.. merged]);
        problem = null;
        return true;
    }
}
