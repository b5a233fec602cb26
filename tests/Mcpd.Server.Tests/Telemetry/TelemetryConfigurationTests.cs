using Mcpd.Server.Configuration;
using Mcpd.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace Mcpd.Server.Tests.Telemetry;

/// <summary>The <c>telemetry</c> section (docs/configuration.md).</summary>
public class TelemetryConfigurationTests
{
    [Fact]
    public void Telemetry_problems_are_reported_with_their_key_paths()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["telemetry:otlp:endpoint"] = "collector:4317",
            ["telemetry:metrics:enabled"] = "maybe",
            ["telemetry:tracing:sampled"] = "true",
        }).Build();

        var problems = McpdOptionsValidator.CheckConfiguration(configuration);

        Assert.Contains("telemetry:otlp:endpoint: 'collector:4317' is not an absolute http:// or https:// address (e.g. http://127.0.0.1:4317)", problems);
        Assert.Contains(problems, p => p.StartsWith("telemetry:metrics:enabled", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("telemetry:tracing:sampled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Spans_are_exported_only_when_an_OTLP_endpoint_is_configured()
    {
        await using var plain = await McpdTestServer.StartAsync();
        await using var exporting = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["telemetry:otlp:endpoint"] = "http://127.0.0.1:4317" });
        await using var untraced = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["telemetry:otlp:endpoint"] = "http://127.0.0.1:4317",
            ["telemetry:tracing:enabled"] = "false",
        });

        Assert.Null(plain.Services.GetService<TracerProvider>());
        Assert.NotNull(exporting.Services.GetService<TracerProvider>());
        Assert.Null(untraced.Services.GetService<TracerProvider>());
    }
}
