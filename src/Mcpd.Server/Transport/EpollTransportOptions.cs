namespace Mcpd.Server.Transport;

/// <summary>
/// What the epoll transport needs to know, set by the hosting code from the configuration (as Kestrel's
/// SocketTransportOptions is), so the transport depends on nothing above it.
/// </summary>
internal sealed class EpollTransportOptions
{
    /// <summary>Event-loop threads, at least one.</summary>
    public int IoThreads { get; set; } = 1;

    /// <summary>Unconsumed input a connection may hold before receiving stops until the application consumes.</summary>
    public int MaxReadBufferSize { get; set; } = 1024 * 1024;

    /// <summary>Where the application's continuations run.</summary>
    public ApplicationScheduling ApplicationScheduling { get; set; }
}
