using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Mcpd.Server.Transport;

/// <summary>Where the epoll transport can run.</summary>
public static class EpollTransport
{
    /// <summary>
    /// Linux on x86-64, where <c>struct epoll_event</c> is packed to 12 bytes (epoll_ctl(2): <c>__EPOLL_PACKED</c>);
    /// the transport's <see cref="EpollInterop.EpollEvent"/> must have that very size.
    /// </summary>
    public static bool IsSupported => OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture == Architecture.X64
        && Unsafe.SizeOf<EpollInterop.EpollEvent>() == 12;
}
