using System.Diagnostics.Metrics;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace Mcpd.Server.Tests.Telemetry;

/// <summary>Method names cannot grow the metric series without bound.</summary>
public class MethodTagTests
{
    [Fact]
    public void Served_names_get_a_series_up_to_the_cap_and_everything_else_is_other()
    {
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var metrics = new McpdMetrics(provider.GetRequiredService<IMeterFactory>());

        Assert.Equal("other", metrics.MethodTag("made.up.by.a.client", served: false));
        for (var i = 0; i < McpdMetrics.MaxMethodTags; i++)
        {
            Assert.Equal($"m{i}", metrics.MethodTag($"m{i}", served: true));
        }

        Assert.Equal("other", metrics.MethodTag("one.too.many", served: true));
        Assert.Equal("m5", metrics.MethodTag("m5", served: false));
    }
}
