using System.Runtime.InteropServices;

namespace Mcpd.Server.Transport;

/// <summary>
/// The few Linux system calls the epoll transport needs (epoll(7), eventfd(2), recv(2), send(2)).
/// Invariants: used on Linux x86-64 only, where <c>struct epoll_event</c> is packed to 12 bytes
/// (<see cref="EpollTransport.IsSupported"/> checks it); a socket's descriptor is passed as its SafeHandle, whose
/// marshaller holds a reference (DangerousAddRef/DangerousRelease) across the call, so a socket disposed meanwhile
/// keeps its descriptor open until the call returns and no call reaches a descriptor number reused by another file.
/// </summary>
internal static unsafe partial class EpollInterop
{
    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;
    public const uint EpollRdHup = 0x2000;

    public const int CtlAdd = 1;
    public const int CtlDel = 2;
    public const int CtlMod = 3;

    public const int CloseOnExec = 0x80000;
    public const int EventFdNonBlocking = 0x800;
    public const int MsgNoSignal = 0x4000;

    public const int SolSocket = 1;
    public const int SoReuseAddr = 2;

    public const int EIntr = 4;
    public const int EAgain = 11;

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, SafeHandle fd, EpollEvent* ev);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_wait(int epfd, EpollEvent* events, int maxEvents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initialValue, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint recv(SafeHandle fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint send(SafeHandle fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(SafeHandle fd, byte* buffer, nint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);
}
