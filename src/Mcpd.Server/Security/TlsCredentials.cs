using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Security;

/// <summary>
/// What one TLS listener authenticates with: its certificate and key and the CA bundle client certificates must chain
/// to, read from the files of <see cref="TlsOptions"/> at start (a file that cannot be read fails the start, naming
/// it) and again whenever one of them changes (<see cref="Rotate"/>: a file that cannot be read then is logged and the
/// running credentials stay). Each handshake takes the credentials current when it starts; connections already
/// established keep theirs. TLS 1.2 and 1.3 only.
/// </summary>
public sealed partial class TlsCredentials : IDisposable
{
    /// <summary>RFC 5280 4.2.1.12 id-kp-clientAuth: a client certificate that lists extended key usages must list this one.</summary>
    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    private readonly string _listener;
    private readonly string _configPath;
    private readonly TlsOptions _options;
    private readonly ILogger _logger;
    private readonly FileChangeWatch _watch;
    private volatile SslServerAuthenticationOptions _current;

    /// <summary>
    /// Reads the files of <paramref name="options"/> (configured at <paramref name="configPath"/>, e.g. <c>modbus:tls</c>)
    /// for <paramref name="listener"/>; throws <see cref="TlsFileException"/> naming the key and the file that cannot be used.
    /// </summary>
    public TlsCredentials(string listener, string configPath, TlsOptions options, ILogger<TlsCredentials> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _listener = listener;
        _configPath = configPath;
        _options = options;
        _logger = logger;
        _current = Load();
        var subject = Subject(_current);
        LogLoaded(_logger, _listener, subject, _options.ClientCa ?? "none");
        _watch = new FileChangeWatch([options.Certificate!, options.Key!, .. options.ClientCa is null ? Array.Empty<string>() : [options.ClientCa]], Rotate);
    }

    /// <summary>True when clients must present a certificate that chains to the configured CA.</summary>
    public bool RequiresClientCertificate => _options.ClientCa is not null;

    /// <summary>The handshake timeout of the listener.</summary>
    public TimeSpan HandshakeTimeout => _options.HandshakeTimeout;

    /// <summary>The options a handshake starting now uses.</summary>
    public SslServerAuthenticationOptions Current => _current;

    /// <summary>The serial number of the certificate handshakes use now (hex), for logs and tests.</summary>
    public string SerialNumber => ((X509Certificate2)_current.ServerCertificateContext!.TargetCertificate).SerialNumber;

    /// <summary>Reads the files again and, when they are whole and valid, makes new handshakes use them.</summary>
    public void Rotate()
    {
        lock (_watch)
        {
            try
            {
                var loaded = Load();
                _current = loaded;
                var subject = Subject(loaded);
                var serial = SerialNumber;
                LogRotated(_logger, _listener, subject, serial);
            }
            catch (TlsFileException ex)
            {
                LogRotationFailed(_logger, _listener, ex.Message);
            }
            catch (Exception ex)
            {
                // Runs on a timer thread, where an exception would end the process: whatever the files hold, the
                // server goes on with the running certificate.
                LogRotationFailed(_logger, _listener, $"unexpected: {ex.Message}");
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _watch.Dispose();

    private SslServerAuthenticationOptions Load()
    {
        var certificate = Read("certificate", _options.Certificate!, () => X509Certificate2.CreateFromPemFile(_options.Certificate!, _options.Key));
        var chain = Read("certificate", _options.Certificate!, () => LoadBundle(_options.Certificate!));
        var authorities = _options.ClientCa is null ? null : Read("clientCa", _options.ClientCa, () => LoadBundle(_options.ClientCa));
        if (authorities is { Count: 0 })
        {
            throw new TlsFileException($"{_configPath}:clientCa: {Path.GetFullPath(_options.ClientCa!)} holds no certificate (PEM, -----BEGIN CERTIFICATE-----)");
        }

        var intermediates = new X509Certificate2Collection();
        foreach (var extra in chain)
        {
            if (extra.Thumbprint != certificate.Thumbprint)
            {
                intermediates.Add(extra);
            }
        }

        return new SslServerAuthenticationOptions
        {
            // The context is built once per rotation: the chain is sent with every handshake without being rebuilt.
            ServerCertificateContext = Read("certificate", _options.Certificate!, () => SslStreamCertificateContext.Create(certificate, intermediates, offline: true)),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateRequired = authorities is not null,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = authorities is null ? null : (_, presented, presentedChain, _) => ChainsTo(authorities, presented, presentedChain),
        };
    }

    /// <summary>
    /// True when <paramref name="presented"/> chains to one of <paramref name="authorities"/> and only to them (not to
    /// the machine's trusted roots), is within its validity, and allows client authentication. Revocation is not
    /// checked (docs/security.md: rotate the CA, or list allowed subjects, to withdraw a certificate).
    /// </summary>
    private static bool ChainsTo(X509Certificate2Collection authorities, X509Certificate? presented, X509Chain? presentedChain)
    {
        if (presented is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(ClientAuthentication));
        if (presentedChain is not null)
        {
            // What the client sent beside its certificate (intermediates): usable to build the chain, never trusted.
            foreach (var element in presentedChain.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        return chain.Build(presented as X509Certificate2 ?? new X509Certificate2(presented));
    }

    private static X509Certificate2Collection LoadBundle(string path)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPemFile(path);
        return bundle;
    }

    /// <summary>What <paramref name="read"/> reads from <paramref name="path"/> (set at key <paramref name="key"/>), or a <see cref="TlsFileException"/> saying why it cannot.</summary>
    private T Read<T>(string key, string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            // CreateFromPemFile reads the certificate and the key: a key that is not the certificate's fails here too.
            throw new TlsFileException($"{_configPath}:{key}: {Path.GetFullPath(path)}{(key == "certificate" ? $" (key {Path.GetFullPath(_options.Key!)})" : "")}: {ex.Message}", ex);
        }
    }

    private static string Subject(SslServerAuthenticationOptions options) => options.ServerCertificateContext!.TargetCertificate.Subject;

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "TLS on {Listener}: certificate {Subject}, client certificates from {ClientCa}")]
    private static partial void LogLoaded(ILogger logger, string listener, string subject, string clientCa);

    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "TLS on {Listener}: certificate files changed; new handshakes use {Subject}, serial {Serial}")]
    private static partial void LogRotated(ILogger logger, string listener, string subject, string serial);

    [LoggerMessage(EventId = 402, Level = LogLevel.Error, Message = "TLS on {Listener}: the changed certificate files cannot be used ({Problem}); handshakes keep the running certificate")]
    private static partial void LogRotationFailed(ILogger logger, string listener, string problem);
}

/// <summary>A certificate, key or CA file of a TLS listener that cannot be used; the message names the key and the file.</summary>
public sealed class TlsFileException(string message, Exception? inner = null) : InvalidOperationException(message, inner);
