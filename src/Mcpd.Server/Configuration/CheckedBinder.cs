using System.Collections;
using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Configuration;

/// <summary>
/// Binds a configuration to an options type in one walk of its keys beside the type, and reports, with key paths,
/// every key the type does not have (a typo would otherwise be ignored silently) and every value that does not
/// convert to its property's type; the binder of Microsoft.Extensions.Configuration stops at the first such error.
/// One walk of a <see cref="ConfigurationTree"/> costs the configuration's size: the stock binder visits every
/// property of every object through <see cref="IConfiguration"/>, about a microsecond each, which made a reload
/// of a 65,536-register map take seconds per bind. What it binds is what it checks: settings are public properties
/// with a public setter (or init); scalars convert with their <see cref="TypeConverter"/> (durations with
/// <see cref="DurationConverter"/>); a list's entries are appended in key order; a map's entries are set by key; a
/// missing or empty value leaves the default.
/// </summary>
public static class CheckedBinder
{
    /// <summary>The settings of each options type, found once: a map of N registers has N objects of one type.</summary>
    private static readonly ConcurrentDictionary<Type, Dictionary<string, PropertyInfo>> Settings = new();

    /// <summary>
    /// Sets each setting of <paramref name="to"/> to the value of the setting of the same name of
    /// <paramref name="from"/> (shared, not copied: options are not changed once bound).
    /// </summary>
    [RequiresUnreferencedCode("Reflects over the options type.")]
    internal static void CopySettings(object from, object to)
    {
        var source = SettingsOf(from.GetType());
        foreach (var (name, setting) in SettingsOf(to.GetType()))
        {
            setting.SetValue(to, source[name].GetValue(from));
        }
    }

    /// <summary>
    /// Binds <paramref name="tree"/> to <paramref name="options"/>; with <paramref name="reportUnknown"/> false,
    /// keys the type does not have are skipped (an options type read from the root takes only its sections).
    /// </summary>
    [RequiresUnreferencedCode("Reflects over the options type.")]
    internal static List<string> Bind(ConfigurationTree tree, object options, bool reportUnknown, params string[] otherSections)
    {
        ArgumentNullException.ThrowIfNull(options);
        DurationConverter.Register();
        var walk = new Walk(reportUnknown);
        walk.Object(options, tree.Root, "", otherSections);
        return walk.Problems;
    }

    /// <summary>
    /// The walk of one binding. A node's path is passed as its parent's path and made only where it is needed (a
    /// problem, a section below): the keys of a large map cost no string each.
    /// </summary>
    [RequiresUnreferencedCode("Reflects over the options type.")]
    private sealed class Walk(bool reportUnknown)
    {
        public List<string> Problems { get; } = [];

        /// <summary>Binds the settings of <paramref name="section"/>, whose path is <paramref name="path"/>; false when none of them bound.</summary>
        public bool Object(object instance, ConfigurationNode section, string path, string[] skipped)
        {
            var bound = false;
            var settings = SettingsOf(instance.GetType());
            foreach (var child in section.Children)
            {
                if (!settings.TryGetValue(child.Key, out var property))
                {
                    if (reportUnknown && !skipped.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
                    {
                        Problems.Add($"{PathOf(path, child)}: unknown setting (known here: {string.Join(", ", settings.Keys.Select(Camel).Order())})");
                    }

                    continue;
                }

                // A scalar is replaced, never added to: its current value (boxed, for a number) is not read.
                var existing = IsScalar(property.PropertyType) ? null : property.GetValue(instance);
                if (Value(property.PropertyType, existing, child, path, out var value))
                {
                    property.SetValue(instance, value);
                }

                bound |= value is not null;
            }

            return bound;
        }

        /// <summary>The bound value of <paramref name="node"/> (below <paramref name="parentPath"/>) for <paramref name="type"/>; false when it leaves <paramref name="existing"/> as it is.</summary>
        private bool Value(Type type, object? existing, ConfigurationNode node, string parentPath, out object? value)
        {
            value = existing;
            var text = node.Value;
            if (IsScalar(type))
            {
                if (node.HasChildren)
                {
                    Problems.Add($"{PathOf(parentPath, node)}: expected a single value, got a section");
                    return false;
                }

                return Scalar(type, text, node, parentPath, out value);
            }

            if (!string.IsNullOrEmpty(text) && !node.HasChildren)
            {
                Problems.Add($"{PathOf(parentPath, node)}: expected {(ListElementType(type) is not null ? "a list of entries" : "a section with settings")}, got the value '{text}'");
                return false;
            }

            if (!node.HasChildren)
            {
                return false;
            }

            var path = PathOf(parentPath, node);
            if (DictionaryTypes(type) is var (keyType, valueType))
            {
                value = existing ?? Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(keyType, valueType),
                    keyType == typeof(string) ? StringComparer.OrdinalIgnoreCase : null);
                Entries((IDictionary)value!, keyType, valueType, node, path);
            }
            else if (ListElementType(type) is { } elementType)
            {
                value = existing is IList { IsReadOnly: false, IsFixedSize: false } list ? list : Activator.CreateInstance(typeof(List<>).MakeGenericType(elementType));
                Elements((IList)value!, elementType, node, path);
            }
            else if (existing is not null)
            {
                Object(existing, node, path, []);
            }
            else
            {
                // A section none of whose keys bound stays absent, as if its broken keys were not there.
                value = Activator.CreateInstance(type);
                value = Object(value!, node, path, []) ? value : null;
            }

            return !ReferenceEquals(value, existing);
        }

        /// <summary>Converts <paramref name="text"/>, the value (or the key, for a map's key) of <paramref name="node"/> below <paramref name="parentPath"/>.</summary>
        private bool Scalar(Type type, string? text, ConfigurationNode node, string parentPath, out object? value)
        {
            value = null;
            var target = Nullable.GetUnderlyingType(type) ?? type;
            if (text is null || (text.Length == 0 && target != typeof(string)))
            {
                return false;
            }

            value = target == typeof(string) ? text : Parsed(target, text);
            if (value is not null)
            {
                return true;
            }

            try
            {
                value = Converters.GetOrAdd(target, TypeDescriptor.GetConverter).ConvertFromInvariantString(text);
                return true;
            }
            catch (FormatException ex) when (target == typeof(TimeSpan))
            {
                // DurationConverter's message says what is wrong and how to write it.
                Problems.Add($"{PathOf(parentPath, node)}: {ex.Message}");
            }
            catch (Exception ex) when (ex is FormatException or NotSupportedException or ArgumentException or OverflowException or InvalidCastException)
            {
                var expected = target.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(target).Select(Camel))}" : $"a {FriendlyName(target)}";
                Problems.Add($"{PathOf(parentPath, node)}: '{text}' is not {expected}");
            }

            return false;
        }

        /// <summary>
        /// The value of <paramref name="text"/> for the types a register map is made of, parsed as their
        /// <see cref="TypeConverter"/> parses it (decimal, invariant; enum names ignoring case) without its
        /// overhead; null for any other type or text, which the converter then reads or refuses (hex numbers, say).
        /// </summary>
        private static object? Parsed(Type target, string text)
        {
            if (target == typeof(int))
            {
                return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? number : null;
            }

            if (target == typeof(double))
            {
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) ? number : null;
            }

            if (target == typeof(bool))
            {
                return bool.TryParse(text, out var flag) ? flag : null;
            }

            return target.IsEnum && Enum.TryParse(target, text, ignoreCase: true, out var member) ? member : null;
        }

        private void Entries(IDictionary map, Type keyType, Type valueType, ConfigurationNode section, string path)
        {
            foreach (var entry in section.Children)
            {
                if (Scalar(keyType, entry.Key, entry, path, out var entryKey)
                    && Value(valueType, map.Contains(entryKey!) ? map[entryKey!] : null, entry, path, out var value) && value is not null)
                {
                    map[entryKey!] = value;
                }
            }
        }

        private void Elements(IList list, Type elementType, ConfigurationNode section, string path)
        {
            foreach (var entry in section.Children)
            {
                if (!int.TryParse(entry.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    Problems.Add($"{PathOf(path, entry)}: expected a list entry (a YAML '- ' item)");
                    continue;
                }

                if (Value(elementType, null, entry, path, out var element) && element is not null)
                {
                    list.Add(element);
                }
            }
        }

        private static string PathOf(string parentPath, ConfigurationNode node) =>
            parentPath.Length == 0 ? node.Key : string.Concat(parentPath, ConfigurationPath.KeyDelimiter, node.Key);
    }

    private static readonly ConcurrentDictionary<Type, TypeConverter> Converters = new();

    /// <summary>The settings of <paramref name="type"/>: public properties with a public setter (or init); computed ones are not settings.</summary>
    [RequiresUnreferencedCode("Reflects over the options type.")]
    private static Dictionary<string, PropertyInfo> SettingsOf(Type type) => Settings.GetOrAdd(type, static type =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetMethod is not null && p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0)
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase));

    private static bool IsScalar(Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target.IsPrimitive || target.IsEnum || target == typeof(string) || target == typeof(decimal) || target == typeof(TimeSpan);
    }

    private static Type? ListElementType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() is var definition
            && (definition == typeof(IList<>) || definition == typeof(List<>) || definition == typeof(IReadOnlyList<>))
            ? type.GetGenericArguments()[0]
            : null;

    private static (Type Key, Type Value)? DictionaryTypes(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() is var definition
            && (definition == typeof(IDictionary<,>) || definition == typeof(Dictionary<,>))
            ? (type.GetGenericArguments()[0], type.GetGenericArguments()[1])
            : null;

    private static string FriendlyName(Type type) => Type.GetTypeCode(type) switch
    {
        TypeCode.Int32 or TypeCode.Int64 or TypeCode.Int16 or TypeCode.Byte or TypeCode.UInt16 or TypeCode.UInt32 => "whole number",
        TypeCode.Double or TypeCode.Single or TypeCode.Decimal => "number",
        TypeCode.Boolean => "boolean (true/false)",
        _ => type.Name,
    };

    private static string Camel(string name) => char.ToLowerInvariant(name[0]) + name[1..];
}
