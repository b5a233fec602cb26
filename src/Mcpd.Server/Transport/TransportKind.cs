namespace Mcpd.Server.Transport;

/// <summary>The socket layer under Kestrel.</summary>
public enum TransportKind
{
    /// <summary>mcpd's epoll transport where supported (Linux x86-64), else Kestrel's socket transport.</summary>
    Auto,
    /// <summary>mcpd's epoll transport: event loops that read, run the connection handler and write inline.</summary>
    Epoll,
    /// <summary>Kestrel's own socket transport (System.Net.Sockets).</summary>
    Sockets,
}
