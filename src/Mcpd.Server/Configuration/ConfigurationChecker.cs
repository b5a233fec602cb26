using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Configuration;

/// <summary>
/// Walks a configuration tree beside the options type it binds to and reports, with key paths, every key the
/// type does not have (a typo would otherwise be ignored silently) and every value that does not convert to
/// its property's type. The binder stops at the first such error; this reports all of them.
/// </summary>
public static class ConfigurationChecker
{
    /// <summary>
    /// Every structural problem of <paramref name="configuration"/> for <typeparamref name="T"/>; root sections in
    /// <paramref name="otherSections"/> belong to other readers (such as "logging") and are skipped.
    /// </summary>
    [RequiresUnreferencedCode("Reflects over the options type.")]
    public static IReadOnlyList<string> Check<T>(IConfiguration configuration, params string[] otherSections)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        DurationConverter.Register();
        var problems = new List<string>();
        var known = PropertiesOf(typeof(T));
        foreach (var child in configuration.GetChildren())
        {
            if (!otherSections.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                CheckProperty(child, known, problems);
            }
        }

        return problems;
    }

    [RequiresUnreferencedCode("Reflects over the options type.")]
    private static void CheckObject(IConfiguration section, Type type, List<string> problems)
    {
        var properties = PropertiesOf(type);
        foreach (var child in section.GetChildren())
        {
            CheckProperty(child, properties, problems);
        }
    }

    [RequiresUnreferencedCode("Reflects over the options type.")]
    private static void CheckProperty(IConfigurationSection child, Dictionary<string, PropertyInfo> properties, List<string> problems)
    {
        if (!properties.TryGetValue(child.Key, out var property))
        {
            problems.Add($"{child.Path}: unknown setting (known here: {string.Join(", ", properties.Keys.Select(Camel).Order())})");
            return;
        }

        CheckValue(child, property.PropertyType, problems);
    }

    [RequiresUnreferencedCode("Reflects over the options type.")]
    private static void CheckValue(IConfigurationSection section, Type type, List<string> problems)
    {
        if (IsScalar(type))
        {
            CheckScalar(section, type, problems);
            return;
        }

        var dictionaryValue = DictionaryValueType(type);
        var elementType = ListElementType(type);
        if (!string.IsNullOrEmpty(section.Value) && !section.GetChildren().Any())
        {
            var expected = elementType is not null ? "a list of entries" : "a section with settings";
            problems.Add($"{section.Path}: expected {expected}, got the value '{section.Value}'");
            return;
        }

        if (dictionaryValue is not null)
        {
            foreach (var entry in section.GetChildren())
            {
                CheckValue(entry, dictionaryValue, problems);
            }

            return;
        }

        if (elementType is not null)
        {
            foreach (var entry in section.GetChildren())
            {
                if (!int.TryParse(entry.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    problems.Add($"{entry.Path}: expected a list entry (a YAML '- ' item)");
                    continue;
                }

                CheckValue(entry, elementType, problems);
            }

            return;
        }

        CheckObject(section, type, problems);
    }

    /// <summary>The settings of <paramref name="type"/>: public properties with a public setter (or init); computed ones are not settings.</summary>
    [RequiresUnreferencedCode("Reflects over the options type.")]
    private static Dictionary<string, PropertyInfo> PropertiesOf(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetMethod is not null && p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0)
            .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    private static void CheckScalar(IConfigurationSection section, Type type, List<string> problems)
    {
        if (section.GetChildren().Any())
        {
            problems.Add($"{section.Path}: expected a single value, got a section");
            return;
        }

        if (section.Value is null or "")
        {
            return;
        }

        var target = Nullable.GetUnderlyingType(type) ?? type;
        try
        {
            TypeDescriptor.GetConverter(target).ConvertFromInvariantString(section.Value);
        }
        catch (FormatException ex) when (target == typeof(TimeSpan))
        {
            // DurationConverter's message says what is wrong and how to write it.
            problems.Add($"{section.Path}: {ex.Message}");
        }
        catch (Exception ex) when (ex is FormatException or NotSupportedException or ArgumentException or OverflowException or InvalidCastException)
        {
            var expected = target.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(target).Select(Camel))}" : $"a {FriendlyName(target)}";
            problems.Add($"{section.Path}: '{section.Value}' is not {expected}");
        }
    }

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

    private static Type? DictionaryValueType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() is var definition
            && (definition == typeof(IDictionary<,>) || definition == typeof(Dictionary<,>))
            ? type.GetGenericArguments()[1]
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
