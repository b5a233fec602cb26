using Mcpd.Server.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Sessions;

/// <summary>Makes the session store <c>sessions:store</c> names.</summary>
internal static class SessionStores
{
    public static ISessionStore Create(IServiceProvider services)
    {
        var settings = services.GetRequiredService<IOptions<SessionsOptions>>().Value;
        return settings.Store == SessionStoreKinds.Redis
            ? new RedisSessionStore(settings.Redis, SessionContextLimits.From(settings), services.GetRequiredService<ILogger<RedisSessionStore>>(), services.GetRequiredService<McpdMetrics>())
            : new InMemorySessionStore(settings, services.GetRequiredService<TimeProvider>());
    }
}
