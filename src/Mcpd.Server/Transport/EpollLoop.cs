using System.ComponentModel;
using System.Runtime.InteropServices;
using Mcpd.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Mcpd.Server.Transport;

/// <summary>
/// One event-loop thread over one epoll instance (level-triggered). Readiness is dispatched to the connection (or the
/// listener) registered under the event's id, on this thread: the connection reads, and the connection handler runs
/// inline, so a request is read, answered and written without a thread switch. Ids, not file descriptors, identify
/// targets: an id is a slot index plus a generation, so an event that races a close can never reach a socket that
/// reused the descriptor or the slot.
/// </summary>
internal sealed unsafe partial class EpollLoop : IDisposable
{
    private const int MaxEvents = 256;

    /// <summary>Id of the eventfd that wakes the loop for shutdown; connection ids start at 1.</summary>
    private const ulong WakeId = 0;

    private readonly int _epoll;
    private readonly SafeFileHandle _wake;
    private readonly Thread _thread;
    private readonly Lock _slotsLock = new();
    private readonly Stack<int> _freeSlots = new();
    private readonly ILogger _logger;
    private IEpollTarget?[] _slots = new IEpollTarget?[64];
    private int _usedSlots;
    private uint _generation;
    private volatile bool _stopping;

    public EpollLoop(string name, ILogger logger)
    {
        _logger = logger;
        _epoll = Check(EpollInterop.epoll_create1(EpollInterop.CloseOnExec), "epoll_create1");
        _wake = new SafeFileHandle(Check(EpollInterop.eventfd(0, EpollInterop.CloseOnExec | EpollInterop.EventFdNonBlocking), "eventfd"), ownsHandle: true);
        Control(EpollInterop.CtlAdd, _wake, WakeId, EpollInterop.EpollIn);
        _thread = new Thread(Run) { Name = name, IsBackground = true };
        _thread.Start();
    }

    /// <summary>Makes <paramref name="target"/> reachable from events; returns its id.</summary>
    public ulong Register(IEpollTarget target)
    {
        lock (_slotsLock)
        {
            if (!_freeSlots.TryPop(out var slot))
            {
                slot = _usedSlots++;
                if (slot == _slots.Length)
                {
                    var larger = new IEpollTarget?[_slots.Length * 2];
                    _slots.CopyTo(larger, 0);
                    Volatile.Write(ref _slots, larger);
                }
            }

            // Slot 0 with generation 0 would be the wake id; generations start at 1.
            if (++_generation == 0)
            {
                _generation = 1;
            }

            var id = (ulong)_generation << 32 | (uint)slot;
            target.Id = id;
            Volatile.Write(ref _slots[slot], target);
            return id;
        }
    }

    /// <summary>Forgets a target; events already fetched for it find another id and are dropped.</summary>
    public void Unregister(ulong id)
    {
        lock (_slotsLock)
        {
            var slot = (int)(uint)id;
            if (_slots[slot]?.Id == id)
            {
                Volatile.Write(ref _slots[slot], null);
                _freeSlots.Push(slot);
            }
        }
    }

    /// <summary>
    /// Changes what epoll watches on <paramref name="fd"/> from <paramref name="current"/> to <paramref name="wanted"/>
    /// (0 = not in the epoll set: an idle or finished socket costs the loop nothing, not even a hang-up event).
    /// </summary>
    public void Watch(SafeHandle fd, ulong id, uint current, uint wanted)
    {
        if (wanted == current)
        {
            return;
        }

        if (wanted == 0)
        {
            // Leaving the set cannot fail in a way that matters: the descriptor or the loop is already gone.
            EpollInterop.epoll_ctl(_epoll, EpollInterop.CtlDel, fd, null);
            return;
        }

        Control(current == 0 ? EpollInterop.CtlAdd : EpollInterop.CtlMod, fd, id, wanted);
    }

    /// <summary>
    /// Watches <paramref name="fd"/> for one event of <paramref name="events"/> (EPOLLONESHOT: then it stays in the set,
    /// disarmed): added to the set the first time (<paramref name="added"/> false), re-armed after.
    /// </summary>
    public void WatchOnce(SafeHandle fd, ulong id, uint events, bool added) =>
        Control(added ? EpollInterop.CtlMod : EpollInterop.CtlAdd, fd, id, events | EpollInterop.EpollOneShot);

    public void Dispose()
    {
        _stopping = true;
        ulong one = 1;
        EpollInterop.write(_wake, (byte*)&one, sizeof(ulong));
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        _wake.Dispose();
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

            var slots = Volatile.Read(ref _slots);
            // One flush batch per wake-up: what the handlers write for other connections while these events are
            // served (requests relayed to a device, answers relayed to clients) leaves in one send per connection.
            using var batch = FlushBatch.Begin();
            for (var i = 0; i < count; i++)
            {
                var id = events[i].Data;
                if (id != WakeId && slots[(int)(uint)id] is { } target && target.Id == id)
                {
                    target.OnEvents(events[i].Events);
                }
            }
        }
    }

    private void Control(int operation, SafeHandle fd, ulong id, uint events)
    {
        var registration = new EpollInterop.EpollEvent { Events = events, Data = id };
        Check(EpollInterop.epoll_ctl(_epoll, operation, fd, &registration), "epoll_ctl");
    }

    private static int Check(int result, string call) =>
        result >= 0 ? result : throw new Win32Exception(Marshal.GetLastPInvokeError(), $"{call} failed");

    [LoggerMessage(EventId = 150, Level = LogLevel.Critical, Message = "epoll loop {Loop} stopped: epoll_wait failed with errno {Errno}")]
    private static partial void LogLoopFailed(ILogger logger, string? loop, int errno);
}
