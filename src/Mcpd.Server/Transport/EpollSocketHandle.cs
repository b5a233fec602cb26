using Microsoft.Win32.SafeHandles;

namespace Mcpd.Server.Transport;

/// <summary>
/// The descriptor of an accepted socket, closed when the last call holding a reference returns (the marshaller's
/// DangerousAddRef, <see cref="EpollInterop"/>): no call can reach a descriptor number another file has reused. The
/// transport's own handle rather than a <see cref="System.Net.Sockets.Socket"/>: it calls recv, send and shutdown
/// itself, and an idle connection then keeps 32 bytes for its socket instead of about 180 (Socket and SafeSocketHandle).
/// </summary>
internal sealed class EpollSocketHandle : SafeHandleMinusOneIsInvalid
{
    public EpollSocketHandle(int descriptor)
        : base(ownsHandle: true) => SetHandle(descriptor);

    protected override bool ReleaseHandle() => EpollInterop.close((int)handle) == 0;
}
