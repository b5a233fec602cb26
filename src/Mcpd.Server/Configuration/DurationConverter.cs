using System.ComponentModel;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Mcpd.Server.Configuration;

/// <summary>
/// How configuration values become durations (docs/configuration.md, "Durations"): <c>500ms</c>, <c>30s</c>,
/// <c>5m</c>, <c>24h</c>, <c>7d</c> (a number, decimals allowed, and a unit), or .NET's <c>[d.]hh:mm:ss[.fff]</c>
/// with hours below 24. .NET alone reads <c>24:00:00</c> as 24 days; a value that only looks like hours must never
/// mean days, so hours of 24 or more are refused with the way to write them.
/// </summary>
public sealed partial class DurationConverter : TimeSpanConverter
{
    private static readonly System.Buffers.SearchValues<char> NumberCharacters = System.Buffers.SearchValues.Create("0123456789.");

    private static int s_registered;

    /// <summary>
    /// Makes this the converter of <see cref="TimeSpan"/> for the configuration binder and the configuration checker
    /// (both ask <see cref="TypeDescriptor"/>); once per process.
    /// </summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 0)
        {
            TypeDescriptor.AddAttributes(typeof(TimeSpan), new TypeConverterAttribute(typeof(DurationConverter)));
        }
    }

    /// <summary>Parses <paramref name="text"/> as a duration; <see cref="FormatException"/> says what is allowed.</summary>
    public static TimeSpan Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = text.Trim();
        if (value.Length > 1 && value[0] == '-' && value[1] != '-')
        {
            // A negative duration parses; whether a setting allows it is the validator's to say, with the key.
            return -Parse(value[1..]);
        }

        var unitStart = value.AsSpan().IndexOfAnyExcept(NumberCharacters);
        if (unitStart > 0 && TryUnit(value[unitStart..], out var unit)
            && double.TryParse(value.AsSpan(0, unitStart), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
        {
            return TimeSpan.FromTicks(checked((long)Math.Round(amount * unit.Ticks)));
        }

        // [d.]hh:mm:ss[.fffffff] in full: .NET would also take "30" as 30 days and "5:00" as 5 hours, which a reader
        // cannot tell from seconds and minutes. The invariant "c" format takes hours 0..23 only.
        if (ClockFormat().IsMatch(value) && TimeSpan.TryParseExact(value, "c", CultureInfo.InvariantCulture, out var clock))
        {
            return clock;
        }

        if (value.Split(':') is [var first, _, ..] && int.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out var tooMany) && tooMany >= 24)
        {
            throw new FormatException($"'{text}' has {tooMany} hours: write {tooMany}h (or d.hh:mm:ss, as 1.00:00:00 for a day)");
        }

        throw new FormatException($"'{text}' is not a duration such as 500ms, 30s, 5m, 24h, 7d or 00:05:00");
    }

    [GeneratedRegex(@"^(\d+\.)?\d{1,2}:\d{2}:\d{2}(\.\d{1,7})?$", RegexOptions.CultureInvariant)]
    private static partial Regex ClockFormat();

    /// <inheritdoc />
    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value) =>
        value is string text ? Parse(text) : base.ConvertFrom(context, culture, value);

    private static bool TryUnit(string unit, out TimeSpan length)
    {
        length = unit switch
        {
            "ms" => TimeSpan.FromMilliseconds(1),
            "s" => TimeSpan.FromSeconds(1),
            "m" => TimeSpan.FromMinutes(1),
            "h" => TimeSpan.FromHours(1),
            "d" => TimeSpan.FromDays(1),
            _ => TimeSpan.Zero,
        };
        return length != TimeSpan.Zero;
    }
}
