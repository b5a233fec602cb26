using System.Runtime.InteropServices;

namespace Mcpd.Server.Transport;

/// <summary>Where the epoll transport can run.</summary>
public static class EpollTransport
{
    /// <summary>Linux on x86-64 (the layout of <c>struct epoll_event</c> it is written for).</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;
}
