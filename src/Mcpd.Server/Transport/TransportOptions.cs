namespace Mcpd.Server.Transport;

/// <summary>The socket layer (config section <c>transport</c>).</summary>
public sealed class TransportOptions
{
    /// <summary>Which transport serves the listeners.</summary>
    public TransportKind Kind { get; set; } = TransportKind.Auto;

    /// <summary>Event-loop threads of the epoll transport; 0 = one per two processors, at least one.</summary>
    public int IoThreads { get; set; }

    /// <summary>
    /// Where the epoll transport runs the application's code after a read or a blocked flush: inline on the event loop
    /// (default), or on the thread pool. Kestrel's socket transport keeps its own default (thread pool).
    /// </summary>
    public ApplicationScheduling ApplicationScheduling { get; set; } = ApplicationScheduling.Inline;

    /// <summary>The transport <see cref="Kind"/> resolves to on this machine.</summary>
    public TransportKind Effective => Kind == TransportKind.Auto
        ? EpollTransport.IsSupported ? TransportKind.Epoll : TransportKind.Sockets
        : Kind;

    /// <summary>The number of event loops to run.</summary>
    public int EffectiveIoThreads => IoThreads > 0 ? IoThreads : Math.Max(1, Environment.ProcessorCount / 2);
}
