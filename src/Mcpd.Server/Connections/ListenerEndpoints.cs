using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Mcpd.Server.Connections;

/// <summary>
/// The listeners mcpd configured on Kestrel, by name. After the host has started each one reports the endpoint it
/// is bound to (Kestrel writes the bound endpoint back into its ListenOptions, so port 0 resolves to the real port).
/// </summary>
public sealed class ListenerEndpoints
{
    private readonly Dictionary<string, ListenOptions> _listeners = [];

    internal void Add(string name, ListenOptions listener) => _listeners[name] = listener;

    /// <summary>The endpoint listener <paramref name="name"/> is bound to.</summary>
    public IPEndPoint this[string name] => (IPEndPoint)_listeners[name].EndPoint;

    /// <summary>All listeners and their endpoints.</summary>
    public IEnumerable<KeyValuePair<string, EndPoint>> All => _listeners.Select(l => KeyValuePair.Create(l.Key, l.Value.EndPoint));
}
