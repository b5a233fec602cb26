using System.Net;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Tests.Mcp;
using Mcpd.Server.Telemetry;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Telemetry;

/// <summary>
/// <c>GET /metrics</c> (docs/observability.md) on the real host. Hosts run in parallel: each exports only the meter
/// of its own meter factory.
/// </summary>
public class MetricsTests
{
    private const int ModbusReads = 7;
    private const int Echoes = 5;

    [Fact]
    public async Task Metrics_are_Prometheus_text_and_count_every_request_answered()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using (var modbus = await server.ConnectClientAsync())
        {
            for (var i = 0; i < ModbusReads; i++)
            {
                await modbus.ReadHoldingRegistersAsync(1, 0, 10);
            }

            await Assert.ThrowsAsync<Mcpd.Client.Modbus.ModbusException>(() => modbus.ReadHoldingRegistersAsync(1, 65000, 100));
        }

        await using (var mcp = await McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) }))
        {
            for (var i = 0; i < Echoes; i++)
            {
                Assert.Equal(Mcpd.Protocols.Mcp.McpStatus.Ok, (await mcp.CallAsync("sys.echo", "hi"u8.ToArray())).Status);
            }

            Assert.Equal(Mcpd.Protocols.Mcp.McpStatus.NotFound, (await mcp.CallAsync("made.up")).Status);
            server.Services.GetRequiredService<McpdMetrics>().ConfigReloaded(accepted: false);

            // The closed Modbus connection leaves the registry once the server has read its end.
            await WaitForAsync(async () => (await ScrapeAsync(server)).Value("mcpd_connections_active", ("listener", "modbus")) == 0);
            var metrics = await ScrapeAsync(server);

            Assert.Equal(ModbusReads, metrics.Value("mcpd_requests_total", ("protocol", "modbus"), ("function", "0x03"), ("status", "ok")));
            Assert.Equal(1, metrics.Value("mcpd_requests_total", ("protocol", "modbus"), ("function", "0x03"), ("status", "illegal_data_address")));
            Assert.Equal(Echoes, metrics.Value("mcpd_requests_total", ("protocol", "mcp"), ("method", "sys.echo"), ("status", "OK")));
            Assert.Equal(1, metrics.Value("mcpd_requests_total", ("protocol", "mcp"), ("method", "other"), ("status", "NOT_FOUND")));
            Assert.Equal("counter", metrics.FamilyTypes["mcpd_requests_total"]);
            Assert.Equal("histogram", metrics.FamilyTypes["mcpd_mcp_request_duration_seconds"]);
            Assert.Equal("histogram", metrics.FamilyTypes["mcpd_modbus_request_duration_seconds"]);
            Assert.Equal(ModbusReads + 1, metrics.Value("mcpd_modbus_request_duration_seconds_count"));
            Assert.Equal(Echoes + 1, metrics.Value("mcpd_mcp_request_duration_seconds_bucket", ("le", "+Inf")));
            Assert.Equal(1, metrics.Value("mcpd_connections_active", ("listener", "mcp")));
            Assert.Equal(1, metrics.Value("mcpd_config_reloads_total", ("result", "rejected")));
            Assert.Equal(0, metrics.Value("mcpd_sessions_active"));
            Assert.Equal(0, metrics.Value("mcpd_sessions_size_bytes"));
        }
    }

    [Fact]
    public async Task A_host_exports_only_its_own_requests()
    {
        await using var busy = await McpdTestServer.StartAsync();
        await using var idle = await McpdTestServer.StartAsync();
        await using (var modbus = await busy.ConnectClientAsync())
        {
            await modbus.ReadHoldingRegistersAsync(1, 0, 10);
        }

        Assert.Equal(1, (await ScrapeAsync(busy)).Value("mcpd_requests_total", ("protocol", "modbus")));
        Assert.Null((await ScrapeAsync(idle)).Value("mcpd_requests_total", ("protocol", "modbus")));
    }

    [Fact]
    public async Task Lanes_upstreams_and_CRC_resyncs_are_observed()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["mcp:crcPort"] = "0",
            ["routing:lanes:slow:workers"] = "1",
            ["routing:lanes:slow:capacity"] = "4",
            ["routing:rules:0:method"] = "sys.*",
            ["routing:rules:0:target"] = "lane:slow",
            ["upstreams:plc:kind"] = "tcp",
            ["upstreams:plc:address"] = "127.0.0.1:1",
        });
        await using (var mcp = await McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) }))
        {
            Assert.Equal(Mcpd.Protocols.Mcp.McpStatus.Ok, (await mcp.CallAsync("sys.echo")).Status);
        }

        using (var crc = await server.ConnectRawAsync(server.McpCrcEndPoint))
        {
            // Noise before a frame: the listener drops it and resynchronises on the 0x5A of nothing (no frame follows).
            await crc.SendAsync(new byte[] { 0x01, 0x02, 0x03 });
            await WaitForAsync(async () => (await ScrapeAsync(server)).Value("mcpd_mcp_crc_dropped_bytes_total") >= 3);
        }

        var metrics = await ScrapeAsync(server);
        Assert.Equal(1, metrics.Value("mcpd_lane_completed_total", ("lane", "slow")));
        Assert.Equal(0, metrics.Value("mcpd_lane_rejected_total", ("lane", "slow")));
        Assert.Equal(0, metrics.Value("mcpd_lane_depth", ("lane", "slow")));
        Assert.True(metrics.Value("mcpd_mcp_crc_resyncs_total") >= 1);
        var states = metrics.Samples.Where(s => s.Name == "mcpd_upstream_state" && s.Labels["upstream"] == "plc").ToList();
        Assert.Equal(4, states.Count);
        Assert.Equal(1, states.Sum(s => s.Value));
    }

    [Fact]
    public async Task Heartbeat_timeouts_are_counted_per_MCP_listener()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await McpdTestServer.StartAsync(
            new Dictionary<string, string?> { ["mcp:heartbeatInterval"] = "00:00:10" },
            builder => builder.Services.AddSingleton<TimeProvider>(time));
        using var silent = await server.ConnectRawAsync(server.McpEndPoint);

        // Each round moves the clock one second: the idle sweep closes the silent connection after 30 s of it.
        await WaitForAsync(async () =>
        {
            time.Advance(TimeSpan.FromSeconds(1));
            return (await ScrapeAsync(server)).Value("mcpd_mcp_heartbeat_timeouts_total", ("listener", "mcp")) == 1;
        });
        await server.Logs.WaitForAsync("idle for more than 00:00:30");
    }

    [Fact]
    public async Task Metrics_can_be_turned_off()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["telemetry:metrics:enabled"] = "false" });
        using var http = new HttpClient { BaseAddress = server.AdminUri };

        using var response = await http.GetAsync(new Uri("metrics", UriKind.Relative));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Refused_connections_are_counted_by_listener_and_reason()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["modbus:maxConnections"] = "1",
            ["modbus:connectionLimitPolicy"] = "Refuse",
            ["mcp:maxConnectionsPerAddress"] = "1",
        });
        // Each first connection is answered before the next is opened: connections accepted together are admitted in any order.
        using var modbus = await server.ConnectRawAsync();
        await modbus.SendHexAsync("000100000006010300000001");
        Assert.StartsWith("000100000005010302", await modbus.ReceiveHexAsync(11), StringComparison.Ordinal);
        using var refusedModbus = await server.ConnectRawAsync();
        using var mcp = await server.ConnectRawAsync(server.McpEndPoint);
        await McpServerTests.SendAsync(mcp, output => McpPayload.WriteRequest(output, 1, McpRequestFlags.None, "sys.echo", [], "admitted"u8));
        await McpServerTests.ReadResponseAsync(mcp, 1, McpStatus.Ok);
        using var refusedMcp = await server.ConnectRawAsync(server.McpEndPoint);
        Assert.True(await refusedModbus.IsClosedByServerAsync());
        Assert.True(await refusedMcp.IsClosedByServerAsync());

        var metrics = await ScrapeAsync(server);

        Assert.Equal("counter", metrics.FamilyTypes["mcpd_connections_refused_total"]);
        Assert.Equal(1, metrics.Value("mcpd_connections_refused_total", ("listener", "modbus"), ("reason", "limit")));
        Assert.Equal(1, metrics.Value("mcpd_connections_refused_total", ("listener", "mcp"), ("reason", "per_address")));
    }

    private static async Task<PrometheusText> ScrapeAsync(McpdTestServer server)
    {
        using var http = new HttpClient { BaseAddress = server.AdminUri };
        using var response = await http.GetAsync(new Uri("metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            await Task.Delay(50);
        }
    }
}
