using System.Collections.Concurrent;
using System.ComponentModel;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Transport;

/// <summary>
/// One event-loop thread over one epoll instance (level-triggered). Readiness is dispatched to the connection
/// registered under the event's id, on this thread: the connection reads, and the connection handler runs inline,
/// so a request is read, answered and written without a thread switch. Ids, not file descriptors, identify
/// connections, so an event that races a close can never reach a socket that reused the descriptor.
/// </summary>
internal sealed unsafe partial class EpollLoop : IDisposable
{
    private const int MaxEvents = 256;

    /// <summary>Id of the eventfd that wakes the loop for shutdown; connection ids start at 1.</summary>
    private const ulong WakeId = 0;

    private readonly int _epoll;
    private readonly int _wake;
    private readonly Thread _thread;
    private readonly ConcurrentDictionary<ulong, EpollConnection> _connections = new();
    private readonly ILogger _logger;
    private ulong _nextId;
    private volatile bool _stopping;

    public EpollLoop(string name, ILogger logger)
    {
        _logger = logger;
        _epoll = Check(EpollInterop.epoll_create1(EpollInterop.CloseOnExec), "epoll_create1");
        _wake = Check(EpollInterop.eventfd(0, EpollInterop.CloseOnExec | EpollInterop.EventFdNonBlocking), "eventfd");
        Control(EpollInterop.CtlAdd, _wake, WakeId, EpollInterop.EpollIn);
        _thread = new Thread(Run) { Name = name, IsBackground = true };
        _thread.Start();
    }

    /// <summary>Starts watching <paramref name="fd"/> for <paramref name="events"/>; returns the connection's id.</summary>
    public ulong Add(EpollConnection connection, int fd, uint events)
    {
        var id = Interlocked.Increment(ref _nextId);
        _connections[id] = connection;
        Control(EpollInterop.CtlAdd, fd, id, events);
        return id;
    }

    /// <summary>Changes the events watched for a connection.</summary>
    public void Modify(int fd, ulong id, uint events) => Control(EpollInterop.CtlMod, fd, id, events);

    /// <summary>Stops watching a connection; events already fetched for it find no connection and are dropped.</summary>
    public void Remove(int fd, ulong id)
    {
        _connections.TryRemove(id, out _);
        // ENOENT/EBADF: already removed, or the descriptor is closing; nothing is left to stop.
        EpollInterop.epoll_ctl(_epoll, EpollInterop.CtlDel, fd, null);
    }

    public void Dispose()
    {
        _stopping = true;
        ulong one = 1;
        EpollInterop.write(_wake, (byte*)&one, sizeof(ulong));
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        EpollInterop.close(_wake);
        EpollInterop.close(_epoll);
    }

    private void Run()
    {
        var events = stackalloc EpollInterop.EpollEvent[MaxEvents];
        while (!_stopping)
        {
            var count = EpollInterop.epoll_wait(_epoll, events, MaxEvents, -1);
            if (count < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EpollInterop.EIntr)
                {
                    continue;
                }

                LogLoopFailed(_logger, _thread.Name, errno);
                return;
            }

            for (var i = 0; i < count; i++)
            {
                if (events[i].Data != WakeId && _connections.TryGetValue(events[i].Data, out var connection))
                {
                    connection.OnEvents(events[i].Events);
                }
            }
        }
    }

    private void Control(int operation, int fd, ulong id, uint events)
    {
        var registration = new EpollInterop.EpollEvent { Events = events, Data = id };
        Check(EpollInterop.epoll_ctl(_epoll, operation, fd, &registration), "epoll_ctl");
    }

    private static int Check(int result, string call) =>
        result >= 0 ? result : throw new Win32Exception(Marshal.GetLastPInvokeError(), $"{call} failed");

    [LoggerMessage(EventId = 150, Level = LogLevel.Critical, Message = "epoll loop {Loop} stopped: epoll_wait failed with errno {Errno}")]
    private static partial void LogLoopFailed(ILogger logger, string? loop, int errno);
}
