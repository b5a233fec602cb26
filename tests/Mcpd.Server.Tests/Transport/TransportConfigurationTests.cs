using Mcpd.Server.Transport;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Tests.Transport;

/// <summary>The <c>transport</c> section reaches the epoll transport's own options (docs/configuration.md).</summary>
public sealed class TransportConfigurationTests
{
    [Fact]
    public async Task Thread_pool_scheduling_and_the_read_limit_reach_the_epoll_transport_which_then_serves()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["transport:kind"] = "Epoll",
            ["transport:ioThreads"] = "3",
            ["transport:applicationScheduling"] = "ThreadPool",
            ["mcp:maxPayloadLength"] = "4194304",
        });
        await using var client = await server.ConnectClientAsync();

        var options = server.Services.GetRequiredService<IOptions<EpollTransportOptions>>().Value;
        Assert.Equal((3, ApplicationScheduling.ThreadPool, 4194304 + 16), (options.IoThreads, options.ApplicationScheduling, options.MaxReadBufferSize));
        Assert.Equal([100, 85], await client.ReadHoldingRegistersAsync(1, 0, 2));
    }

    [Fact]
    public async Task Inline_scheduling_is_the_default()
    {
        await using var server = await McpdTestServer.StartAsync(McpdTestServer.WithTransport(TransportKind.Epoll));

        Assert.Equal(ApplicationScheduling.Inline, server.Services.GetRequiredService<IOptions<EpollTransportOptions>>().Value.ApplicationScheduling);
    }
}
