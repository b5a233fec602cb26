using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Mcpd.Server.Agent;

/// <summary>
/// Resource subscriptions of agent sessions: each one reads its resource every <c>agent.subscriptionInterval</c> and
/// sends <c>notifications/resources/updated</c> when the content differs from the last reading, so a change made by
/// anyone (a Modbus client, a generator, the admin API) reaches the assistant, and an unchanged device costs one read
/// per interval and nothing on the wire. At most <c>agent.maxSubscriptions</c> per session; a session's end, its
/// unsubscribe and the host's stop end them.
/// </summary>
internal sealed class AgentSubscriptions(IOptionsMonitor<AgentOptions> options, TimeProvider time, ILoggerFactory loggers) : IDisposable
{
    private readonly ConcurrentDictionary<(McpServer Session, string Uri), CancellationTokenSource> _watches = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger = loggers.CreateLogger(AgentLog.Category);

    /// <summary>
    /// Starts watching <paramref name="uri"/> for <paramref name="session"/> (again: nothing new); null, or why not.
    /// The first reading is taken before this returns, so every change after the subscription was answered is told.
    /// </summary>
    public async Task<string?> SubscribeAsync(McpServer session, string uri, Func<CancellationToken, Task<string>> render, CancellationToken cancellationToken)
    {
        var limit = options.CurrentValue.MaxSubscriptions;
        if (_watches.ContainsKey((session, uri)))
        {
            return null;
        }

        if (_watches.Keys.Count(k => k.Session == session) >= limit)
        {
            return $"this session holds {limit} subscriptions (agent.maxSubscriptions); unsubscribe from one first";
        }

        var first = await ReadAsync(render, cancellationToken);
        var watch = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        if (!_watches.TryAdd((session, uri), watch))
        {
            watch.Dispose();
            return null;
        }

        _ = WatchAsync(session, uri, render, first, watch);
        return null;
    }

    public void Unsubscribe(McpServer session, string uri)
    {
        if (_watches.TryRemove((session, uri), out var watch))
        {
            try
            {
                watch.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The watch ended by itself (its session's transport failed) at this moment.
            }
        }
    }

    /// <summary>Ends every subscription of <paramref name="session"/>, which has ended.</summary>
    public void End(McpServer session)
    {
        foreach (var key in _watches.Keys.Where(k => k.Session == session))
        {
            Unsubscribe(key.Session, key.Uri);
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private async Task WatchAsync(McpServer session, string uri, Func<CancellationToken, Task<string>> render, string last, CancellationTokenSource watch)
    {
        var token = watch.Token;
        try
        {
            while (true)
            {
                await Task.Delay(options.CurrentValue.SubscriptionInterval, time, token);
                var now = await ReadAsync(render, token);
                if (now != last)
                {
                    last = now;
                    await session.SendNotificationAsync(NotificationMethods.ResourceUpdatedNotification, new ResourceUpdatedNotificationParams { Uri = uri }, cancellationToken: token);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            AgentLog.SubscriptionEnded(_logger, uri, "unsubscribed, the session ended or the host stops");
        }
        catch (Exception ex)
        {
            // The session's transport is gone (a client that left without unsubscribing): nothing more to tell it.
            AgentLog.SubscriptionEnded(_logger, uri, ex.Message);
        }
        finally
        {
            _watches.TryRemove(new KeyValuePair<(McpServer, string), CancellationTokenSource>((session, uri), watch));
            watch.Dispose();
        }
    }

    /// <summary>The resource's content; a failed read is content too (the device stopped answering is a change worth telling).</summary>
    private static async Task<string> ReadAsync(Func<CancellationToken, Task<string>> render, CancellationToken cancellationToken)
    {
        try
        {
            return await render(cancellationToken);
        }
        catch (McpException ex)
        {
            return "error: " + ex.Message;
        }
    }
}
