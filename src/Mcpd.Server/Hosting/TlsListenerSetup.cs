using Mcpd.Server.Security;
using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Hosting;

/// <summary>
/// TLS as a layer of a listener's connection pipeline, under whatever protocol it serves: a cap on handshakes in
/// progress, then Kestrel's TLS middleware (<c>UseHttps</c> with the credentials current at each handshake), then the
/// client's certificate turned into a <see cref="ClientIdentity"/> for the protocol above.
/// </summary>
internal static partial class TlsListenerSetup
{
    /// <summary>Puts TLS with <paramref name="credentials"/> on <paramref name="listener"/>, before the connection handler that is added next.</summary>
    public static void UseTls(this ListenOptions listener, string name, TlsCredentials credentials, int maxConcurrentHandshakes, McpdMetrics metrics, TimeProvider time, ILogger logger)
    {
        // Handshake failures are caused by peers: their lines share one budget per listener.
        var failures = new LogThrottle($"TLS handshake on {name}", time, logger);
        var handshakes = new HandshakeLimiter(maxConcurrentHandshakes);
        listener.Use(next => async connection =>
        {
            if (!handshakes.TryEnter())
            {
                metrics.ConnectionRefused(name, "handshakes");
                if (failures.ShouldLog())
                {
                    LogTooManyHandshakes(logger, name, connection.RemoteEndPoint, handshakes.Limit);
                }

                connection.Abort();
                return;
            }

            var handshake = new HandshakeInProgress(handshakes);
            connection.Features.Set(handshake);
            try
            {
                await next(connection);
            }
            finally
            {
                // Still in progress after the whole pipeline: the TLS middleware gave up (a bad certificate, an old
                // protocol, a timeout) and closed the connection without passing it on.
                if (handshake.TryEnd())
                {
                    metrics.TlsHandshakeFailed(name);
                    if (failures.ShouldLog())
                    {
                        LogHandshakeFailed(logger, name, connection.RemoteEndPoint);
                    }
                }
            }
        });
        listener.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = _ => ValueTask.FromResult(credentials.Current),
            HandshakeTimeout = credentials.HandshakeTimeout,
        });
        listener.Use(next => connection =>
        {
            connection.Features.Get<HandshakeInProgress>()!.TryEnd();
            if (connection.Features.Get<ITlsConnectionFeature>()?.ClientCertificate is { } certificate)
            {
                connection.Features.Set<IClientIdentityFeature>(new IdentityFeature(ClientIdentity.Of(certificate)));
            }

            return next(connection);
        });
    }

    /// <summary>A connection's place among the handshakes in progress, given back once (whichever side ends it first).</summary>
    private sealed class HandshakeInProgress(HandshakeLimiter handshakes)
    {
        private int _ended;

        public bool TryEnd()
        {
            if (Interlocked.Exchange(ref _ended, 1) != 0)
            {
                return false;
            }

            handshakes.Exit();
            return true;
        }
    }

    private sealed record IdentityFeature(ClientIdentity Identity) : IClientIdentityFeature;

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "TLS on {Listener}: closed a connection from {RemoteEndPoint}: {Limit} handshakes are in progress (tls:maxConcurrentHandshakes)")]
    private static partial void LogTooManyHandshakes(ILogger logger, string listener, System.Net.EndPoint? remoteEndPoint, int limit);

    [LoggerMessage(EventId = 404, Level = LogLevel.Information, Message = "TLS on {Listener}: the handshake with {RemoteEndPoint} failed or timed out (no or an untrusted client certificate, an old protocol, silence)")]
    private static partial void LogHandshakeFailed(ILogger logger, string listener, System.Net.EndPoint? remoteEndPoint);
}
