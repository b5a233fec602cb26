namespace Mcpd.Server.Configuration;

/// <summary>The meaning of <c>telemetry</c> (part of <see cref="McpdOptionsValidator"/>).</summary>
internal static class TelemetryValidation
{
    public static void Check(McpdOptions options, List<string> problems)
    {
        var endpoint = options.Telemetry.Otlp.Endpoint;
        if (!string.IsNullOrEmpty(endpoint) && !IsHttpUri(endpoint))
        {
            problems.Add($"telemetry:otlp:endpoint: '{endpoint}' is not an absolute http:// or https:// address (e.g. http://127.0.0.1:4317)");
        }
    }

    private static bool IsHttpUri(string endpoint) =>
        Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
