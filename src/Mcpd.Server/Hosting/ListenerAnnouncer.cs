using Mcpd.Server.Modbus;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Hosting;

/// <summary>Logs where each listener is bound, once the host has started.</summary>
internal sealed class ListenerAnnouncer(ListenerEndpoints endpoints, IHostApplicationLifetime lifetime, ILogger<ListenerAnnouncer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var (_, endPoint) in endpoints.All)
            {
                ModbusLog.Listening(logger, endPoint);
            }
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
