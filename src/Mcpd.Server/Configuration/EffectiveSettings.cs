using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Configuration;

/// <summary>
/// The configuration a server runs on, key by key (<c>modbus:port = 5020</c>): every option bound from the
/// configuration, defaults included, and the logging levels set. Secrets are masked (***): session
/// tokens, a Redis connection string with a password, and the SHA-256 of admin tokens (a short token's hash is as good
/// as the token to whoever tries them all). <c>mcpd config show</c> and the dashboard (<c>GET /api/config</c>) print it.
/// </summary>
public static class EffectiveSettings
{
    private const string Masked = "***";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DictionaryKeyPolicy = null,
        IgnoreReadOnlyProperties = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Every key with its effective value, masked where secret, in the options' order.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Of(IConfiguration configuration)
    {
        var options = ConfigurationTree.Of(configuration).Bound.Options;
        var tree = JsonSerializer.SerializeToNode(options, Json)!.AsObject();
        // Computed views are not settings; with no devices configured, the built-in default device is what runs.
        tree.Remove("maxInputBuffer");
        tree["devices"] = tree["effectiveDevices"]?.DeepClone();
        tree.Remove("effectiveDevices");
        var settings = new List<KeyValuePair<string, string>>();
        Flatten(tree, "", (key, value) => settings.Add(new(key, Mask(key, value))));
        // Sections mcpd's options do not bind (logging) come from the layers alone.
        foreach (var (key, value) in configuration.GetSection(McpdSections.Logging).AsEnumerable().Where(p => p.Value is not null).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            settings.Add(new(key, value!));
        }

        return settings;
    }

    private static void Flatten(JsonNode? node, string prefix, Action<string, string> add)
    {
        switch (node)
        {
            case JsonObject map:
                foreach (var (name, child) in map)
                {
                    Flatten(child, prefix.Length == 0 ? name : $"{prefix}:{name}", add);
                }

                break;
            case JsonArray list:
                for (var i = 0; i < list.Count; i++)
                {
                    Flatten(list[i], $"{prefix}:{i}", add);
                }

                break;
            case null:
                break;
            default:
                add(prefix, node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString());
                break;
        }
    }

    private static string Mask(string key, string value) =>
        key.StartsWith("sessions:tokens:", StringComparison.OrdinalIgnoreCase)
        || (key.StartsWith("admin:tokens:", StringComparison.OrdinalIgnoreCase) && key.EndsWith(":sha256", StringComparison.OrdinalIgnoreCase))
        || (key.Equals("sessions:redis:connectionString", StringComparison.OrdinalIgnoreCase) && value.Contains("password", StringComparison.OrdinalIgnoreCase))
            ? Masked
            : value;
}
