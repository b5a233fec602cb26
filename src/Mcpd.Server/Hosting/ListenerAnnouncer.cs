using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Hosting;

/// <summary>Logs where each listener is bound, once the host has started.</summary>
internal sealed partial class ListenerAnnouncer(ListenerEndpoints endpoints, IHostApplicationLifetime lifetime, ILogger<ListenerAnnouncer> logger) : IHostedService
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
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "{Listener} listening on {EndPoint}")]
    private static partial void LogListening(ILogger logger, string listener, System.Net.EndPoint endPoint);
}
