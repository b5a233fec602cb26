using System.Net;
using System.Net.Sockets;
using Mcpd.Client.Modbus;
using Mcpd.Server.Connections;
using Mcpd.Server.Hosting;
using Mcpd.Server.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mcpd.Testing;

/// <summary>The real mcpd host (Kestrel, real sockets) on a free loopback port, for one test.</summary>
public sealed class McpdTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private McpdTestServer(WebApplication app, LogCapture logs)
    {
        _app = app;
        Logs = logs;
    }

    /// <summary>Everything logged at Debug and above, for assertions.</summary>
    public LogCapture Logs { get; }

    /// <summary>The host's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Where the Modbus listener is bound.</summary>
    public IPEndPoint ModbusEndPoint => _app.Services.GetRequiredService<ListenerEndpoints>()[ListenerNames.Modbus];

    /// <summary>Where the plain MCP listener is bound.</summary>
    public IPEndPoint McpEndPoint => _app.Services.GetRequiredService<ListenerEndpoints>()[ListenerNames.Mcp];

    /// <summary>Where the CRC-framed MCP listener is bound (set <c>mcp:crcPort</c> to "0" to open it).</summary>
    public IPEndPoint McpCrcEndPoint => _app.Services.GetRequiredService<ListenerEndpoints>()[ListenerNames.McpCrc];

    /// <summary>The endpoint listener <paramref name="name"/> (a <c>ListenerNames</c> constant) is bound to.</summary>
    public IPEndPoint EndPointOf(string name) => _app.Services.GetRequiredService<ListenerEndpoints>()[name];

    /// <summary>The base address of the HTTP admin listener.</summary>
    public Uri AdminUri => new($"http://{_app.Services.GetRequiredService<ListenerEndpoints>()[ListenerNames.Admin]}/");

    /// <summary>
    /// Starts a host with <paramref name="settings"/> (config keys such as "modbus:maxConnections") over the defaults
    /// of a test: Modbus on 127.0.0.1, port 0.
    /// </summary>
    public static async Task<McpdTestServer> StartAsync(IDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["modbus:port"] = "0",
            ["modbus:bind"] = "127.0.0.1",
            ["mcp:port"] = "0",
            ["mcp:bind"] = "127.0.0.1",
            ["admin:port"] = "0",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var logs = new LogCapture();
        var app = McpdHost.Build(configuration, builder =>
        {
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
            builder.Logging.AddProvider(logs);
            configure?.Invoke(builder);
        });
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new McpdTestServer(app, logs);
    }

    /// <summary>Adds the transport setting (<c>transport:kind</c>) to <paramref name="settings"/>.</summary>
    public static Dictionary<string, string?> WithTransport(TransportKind transport, IDictionary<string, string?>? settings = null) =>
        new(settings ?? new Dictionary<string, string?>()) { ["transport:kind"] = transport.ToString() };

    /// <summary>A project client connected to the Modbus listener.</summary>
    public Task<ModbusTcpClient> ConnectClientAsync(ModbusClientOptions? options = null) =>
        ModbusTcpClient.ConnectAsync(ModbusEndPoint.Address.ToString(), ModbusEndPoint.Port, options);

    /// <summary>
    /// A raw socket connected to <paramref name="endPoint"/> (default: the Modbus listener), for byte-exact tests;
    /// from the local address <paramref name="from"/> when given (any of 127.0.0.0/8 reaches a loopback listener).
    /// </summary>
    public async Task<Socket> ConnectRawAsync(IPEndPoint? endPoint = null, IPAddress? from = null)
    {
        var socket = from is null
            ? new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }
            : new Socket(from.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (from is not null)
        {
            socket.Bind(new IPEndPoint(from, 0));
        }

        await socket.ConnectAsync(endPoint ?? ModbusEndPoint);
        return socket;
    }

    /// <summary>Stops the host gracefully (in-flight work finishes), as SIGTERM does.</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
