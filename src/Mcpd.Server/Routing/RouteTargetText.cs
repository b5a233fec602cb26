namespace Mcpd.Server.Routing;

/// <summary>The text of a route target: <c>lane:NAME</c>, <c>device:NAME</c> or <c>forward:NODE</c>.</summary>
internal static class RouteTargetText
{
    public const string Lane = "lane";
    public const string Device = "device";
    public const string Forward = "forward";

    public static bool TryParse(string? text, out string kind, out string name)
    {
        var colon = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        kind = colon > 0 ? text![..colon] : "";
        name = colon > 0 ? text![(colon + 1)..] : "";
        return name.Length > 0 && kind is Lane or Device or Forward;
    }
}
