using System.Net;

namespace Mcpd.Server.Connections;

/// <summary>The address a peer connects from, as the per-address limits count it.</summary>
internal static class RemoteAddress
{
    /// <summary>
    /// The IP address of <paramref name="endPoint"/>, an IPv4 address mapped into IPv6 (a dual-stack listener's view)
    /// as plain IPv4 so that both count as one; null for a peer without an IP address.
    /// </summary>
    public static IPAddress? Of(EndPoint? endPoint) => endPoint is IPEndPoint { Address: var address } ? Of(address) : null;

    /// <summary><paramref name="address"/> as <see cref="Of(EndPoint?)"/> counts it: an IPv4 address mapped into IPv6 as plain IPv4.</summary>
    public static IPAddress? Of(IPAddress? address) => address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;
}
