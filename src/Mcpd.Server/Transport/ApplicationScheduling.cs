namespace Mcpd.Server.Transport;

/// <summary>Where the epoll transport runs the application's code once a read or a blocked flush completes.</summary>
public enum ApplicationScheduling
{
    /// <summary>
    /// On the event-loop thread, inline: no thread switch per request (mcpd's default, measured faster). The
    /// application must then never block (docs/architecture.md, Transport).
    /// </summary>
    Inline,
    /// <summary>On the thread pool, as Kestrel's socket transport does by default: the loop only moves bytes.</summary>
    ThreadPool,
}
