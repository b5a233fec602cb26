using System.Net;

namespace Mcpd.Server.Connections;

/// <summary>The address a peer connects from, as the per-address limits count it.</summary>
internal static class RemoteAddress
{
    /// <summary>
    /// The IP address of <paramref name="endPoint"/>, an IPv4 address mapped into IPv6 (a dual-stack listener's view)
    /// as plain IPv4 so that both count as one; null for a peer without an IP address.
    /// </summary>
    public static IPAddress? Of(EndPoint? endPoint) => endPoint is IPEndPoint { Address: var address }
        ? address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address
        : null;
}
