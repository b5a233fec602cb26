using System.Buffers.Binary;
using System.ComponentModel;
using System.Net;
using System.Runtime.InteropServices;

namespace Mcpd.Server.Transport;

/// <summary>
/// The few Linux system calls the epoll transport needs (epoll(7), eventfd(2), socket(2), connect(2), accept4(2),
/// recv(2), send(2), shutdown(2), setsockopt(2), getsockopt(2), getsockname(2), fcntl(2)).
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
    public const uint EpollOneShot = 1u << 30;

    public const int CtlAdd = 1;
    public const int CtlDel = 2;
    public const int CtlMod = 3;

    public const int CloseOnExec = 0x80000;
    public const int SockNonBlock = 0x800;
    public const int EventFdNonBlocking = 0x800;
    public const int MsgNoSignal = 0x4000;

    public const int FGetFl = 3;
    public const int FSetFl = 4;
    public const int ONonBlock = 0x800;

    public const int SockStream = 1;

    public const int SolSocket = 1;
    public const int SoReuseAddr = 2;
    public const int SoError = 4;
    public const int IpProtoTcp = 6;
    public const int TcpNoDelay = 1;
    public const int ShutRdWr = 2;

    public const int AfInet = 2;
    public const int AfInet6 = 10;

    /// <summary>Size of <c>struct sockaddr_storage</c>: room for any address accept4 and getsockname return.</summary>
    public const int SockAddrStorageSize = 128;

    public const int EPerm = 1;
    public const int EIntr = 4;
    public const int EAgain = 11;
    public const int EProto = 71;
    public const int EConnAborted = 103;
    public const int EInProgress = 115;

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

    /// <summary>accept4(2); the descriptor it returns is to be owned by an <see cref="EpollSocketHandle"/> at once.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int accept4(SafeHandle fd, byte* address, int* addressLength, int flags);

    /// <summary>socket(2); the descriptor it returns is to be owned by an <see cref="EpollSocketHandle"/> at once.</summary>
    [LibraryImport("libc", SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int connect(SafeHandle fd, byte* address, int addressLength);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getsockopt(SafeHandle fd, int level, int name, int* value, int* valueLength);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int getsockname(SafeHandle fd, byte* address, int* addressLength);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setsockopt(SafeHandle fd, int level, int name, int* value, int valueLength);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int shutdown(SafeHandle fd, int how);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint recv(SafeHandle fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint send(SafeHandle fd, byte* buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(SafeHandle fd, byte* buffer, nint length);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    /// <summary>
    /// fcntl(2) with one integer argument. fcntl is variadic; on x86-64 (System V) a variadic callee takes its integer
    /// arguments from the same registers as a fixed-argument one, so this declaration calls it correctly there.
    /// </summary>
    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(SafeHandle fd, int command, int argument);

    /// <summary>
    /// Sets O_NONBLOCK on the socket itself. Not <c>Socket.Blocking = false</c>: on Linux that also gives the socket a
    /// SocketAsyncContext (with its operation queues and locks, about 240 bytes that each idle connection would keep),
    /// which this transport never uses, since it calls recv and send itself.
    /// </summary>
    /// <exception cref="Win32Exception">fcntl failed.</exception>
    public static void SetNonBlocking(SafeHandle socket)
    {
        var flags = fcntl(socket, FGetFl, 0);
        if (flags < 0 || fcntl(socket, FSetFl, flags | ONonBlock) < 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>
    /// The IP endpoint in a <c>struct sockaddr</c> of <paramref name="length"/> bytes, or null for another family. An
    /// IPv4 peer of a dual-mode socket (bind <c>*</c>) comes back as the IPv4 address it is, not <c>[::ffff:127.0.0.1]</c>:
    /// logs, the admin API and <c>sys.info</c> show what the operator typed and what firewalls show.
    /// </summary>
    public static IPEndPoint? ReadEndPoint(byte* address, int length)
    {
        var family = *(ushort*)address;
        var port = address[2] << 8 | address[3];
        if (family == AfInet && length >= 8)
        {
            return new IPEndPoint(new IPAddress(new ReadOnlySpan<byte>(address + 4, 4)), port);
        }

        if (family == AfInet6 && length >= 28)
        {
            var ip = new IPAddress(new ReadOnlySpan<byte>(address + 8, 16), *(uint*)(address + 24));
            return new IPEndPoint(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip, port);
        }

        return null;
    }

    /// <summary>
    /// Writes <paramref name="endPoint"/> as a <c>struct sockaddr_in</c> (16 bytes) or <c>sockaddr_in6</c> (28 bytes)
    /// into <paramref name="address"/> (at least <see cref="SockAddrStorageSize"/> bytes) and returns its length: the
    /// family in host order, the port in network order (ip(7), ipv6(7)).
    /// </summary>
    public static int WriteEndPoint(IPEndPoint endPoint, Span<byte> address)
    {
        address[..SockAddrStorageSize].Clear();
        BinaryPrimitives.WriteUInt16BigEndian(address[2..], (ushort)endPoint.Port);
        if (endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            MemoryMarshal.Write(address, (ushort)AfInet);
            endPoint.Address.TryWriteBytes(address.Slice(4, 4), out _);
            return 16;
        }

        MemoryMarshal.Write(address, (ushort)AfInet6);
        endPoint.Address.TryWriteBytes(address.Slice(8, 16), out _);
        MemoryMarshal.Write(address[24..], (uint)endPoint.Address.ScopeId);
        return 28;
    }
}
