using Mcpd.Server.Connections;
using Mcpd.Server.Mcp;
using Mcpd.Server.Modbus;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Hosting;

/// <summary>
/// Logs where each listener is bound once the host has started, and the stop: how many connections are drained
/// when it begins, and when it is over, so an operator reading the log knows the process ended on purpose.
/// </summary>
internal sealed partial class ListenerAnnouncer(
    ListenerEndpoints endpoints, ConnectionRegistry connections, IOptions<ModbusServerOptions> modbus, IOptions<McpServerOptions> mcp,
    IHostApplicationLifetime lifetime, ILogger<ListenerAnnouncer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var (name, endPoint) in endpoints.All)
            {
                LogListening(logger, name, endPoint);
            }

            // As Redis does for maxclients: say at start when the limit cannot hold what the listeners would admit.
            var openFiles = connections.OpenFiles;
            var configured = (long)modbus.Value.MaxConnections + (mcp.Value.CrcPort is null ? 1 : 2) * (long)mcp.Value.MaxConnections;
            if (openFiles.Limit is { } limit && openFiles.MaxConnections < configured)
            {
                LogOpenFileLimit(logger, limit, openFiles.MaxConnections, configured);
            }
        });
        lifetime.ApplicationStopping.Register(() =>
        {
            var open = connections.CountAll();
            LogStopping(logger, open);
        });
        lifetime.ApplicationStopped.Register(() => LogStopped(logger));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Listener} listening on {EndPoint}")]
    private static partial void LogListening(ILogger logger, string listener, System.Net.EndPoint endPoint);

    [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "the open-file limit of {Limit} leaves room for {Connections} protocol connections in all, fewer than the listeners' maxConnections add up to ({Configured}); more are refused (event 104). Raise LimitNOFILE (ulimit -n) to serve them")]
    private static partial void LogOpenFileLimit(ILogger logger, long limit, int connections, long configured);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "stopping: draining {Connections} connection(s)")]
    private static partial void LogStopping(ILogger logger, int connections);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "stopped")]
    private static partial void LogStopped(ILogger logger);
}
