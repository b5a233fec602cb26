namespace Mcpd.Server.Security;

/// <summary>The credentials of each listener that speaks TLS, by listener name; disposing stops watching their files.</summary>
public sealed class TlsListeners : IDisposable
{
    private readonly Dictionary<string, TlsCredentials> _credentials = [];

    /// <summary>The credentials of listener <paramref name="name"/>.</summary>
    public TlsCredentials this[string name] => _credentials[name];

    /// <summary>Names of the listeners that speak TLS.</summary>
    public IEnumerable<string> Names => _credentials.Keys;

    internal void Add(string name, TlsCredentials credentials) => _credentials[name] = credentials;

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var credentials in _credentials.Values)
        {
            credentials.Dispose();
        }
    }
}
