using Mcpd.Server.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Hosting;

/// <summary>
/// Logs where each listener is bound once the host has started, and the stop: how many connections are drained
/// when it begins, and when it is over, so an operator reading the log knows the process ended on purpose.
/// </summary>
internal sealed partial class ListenerAnnouncer(
    ListenerEndpoints endpoints, ConnectionRegistry connections, IHostApplicationLifetime lifetime, ILogger<ListenerAnnouncer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var (name, endPoint) in endpoints.All)
            {
                LogListening(logger, name, endPoint);
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

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "stopping: draining {Connections} connection(s)")]
    private static partial void LogStopping(ILogger logger, int connections);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "stopped")]
    private static partial void LogStopped(ILogger logger);
}
