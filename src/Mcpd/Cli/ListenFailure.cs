using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Mcpd.Server.Configuration;

namespace Mcpd.Cli;

/// <summary>
/// A listener that could not bind, said in one line: which listener, where, why, and what to do (a port that is free
/// now, the addresses this machine has, how to use a privileged port).
/// </summary>
internal static class ListenFailure
{
    /// <summary>The line for <paramref name="error"/>; <paramref name="message"/> (Kestrel's) names the port when it can.</summary>
    public static string Explain(SocketError error, string message, McpdOptions settings)
    {
        var listeners = Listeners(settings);
        var failed = error == SocketError.AddressNotAvailable
            ? listeners.FirstOrDefault(l => !IsLocal(l.Bind)) ?? listeners[0]
            : listeners.FirstOrDefault(l => message.Contains($":{l.Port}:", StringComparison.Ordinal)) ?? listeners[0];
        var where = failed.Bind == "*" ? $"port {failed.Port} of every interface" : $"{Host(failed.Bind)}:{failed.Port}";
        var head = $"cannot listen for {failed.Protocol} on {where}";
        return error switch
        {
            SocketError.AddressAlreadyInUse =>
                $"{head}: the port is already in use by another process. Pick another port with {failed.PortFlag}" +
                (FreePort(failed, listeners) is { } free ? $" (for example {failed.PortFlag} {free}, free now)" : "") +
                $" or set {failed.Key}:port in the configuration.",
            SocketError.AccessDenied =>
                $"{head}: permission denied; ports below 1024 need root or the CAP_NET_BIND_SERVICE capability " +
                $"(setcap cap_net_bind_service=+ep on the dotnet host, or AmbientCapabilities= in the service unit), " +
                $"or pick a port above 1023 with {failed.PortFlag}.",
            _ =>
                $"{head}: {failed.Bind} is not an address of this machine (it has {string.Join(", ", LocalAddresses())}). " +
                $"Pick one of them with {failed.BindFlag}, or {failed.BindFlag} * for every interface.",
        };
    }

    private sealed record Listener(string Protocol, string Key, string Bind, int Port, string PortFlag, string BindFlag);

    private static List<Listener> Listeners(McpdOptions settings)
    {
        var listeners = new List<Listener>
        {
            new("Modbus TCP", "modbus", settings.Modbus.Bind, settings.Modbus.Port, "--modbus-port", "--bind"),
            new("MCP", "mcp", settings.Mcp.Bind, settings.Mcp.Port, "--mcp-port", "--bind"),
        };
        if (settings.Mcp.CrcPort is { } crcPort)
        {
            listeners.Add(new("CRC-framed MCP", "mcp:crcPort", settings.Mcp.Bind, crcPort, "--mcp-crc-port", "--bind"));
        }

        if (settings.Modbus.Tls.Port is { } securePort)
        {
            listeners.Add(new("Modbus/TCP Security", "modbus:tls", settings.Modbus.Tls.Bind, securePort, "--modbus-tls-port", "modbus:tls:bind (configuration)"));
        }

        if (settings.Admin.Enabled)
        {
            listeners.Add(new("the HTTP admin API", "admin", settings.Admin.Bind, settings.Admin.Port, "--http-port", "admin:bind (configuration)"));
        }

        return listeners;
    }

    private static string Host(string bind) =>
        McpdOptionsValidator.TryParseBind(bind, out var address) && address is { AddressFamily: AddressFamily.InterNetworkV6 } ? $"[{address}]" : bind;

    private static bool IsLocal(string bind) =>
        !McpdOptionsValidator.TryParseBind(bind, out var address) || address is null || IPAddress.IsLoopback(address) || LocalAddresses().Contains(address);

    private static IEnumerable<IPAddress> LocalAddresses() =>
        NetworkInterface.GetAllNetworkInterfaces().SelectMany(nic => nic.GetIPProperties().UnicastAddresses).Select(u => u.Address);

    /// <summary>A port near the taken one that nothing listens on now (none of mcpd's other ports), or null.</summary>
    private static int? FreePort(Listener failed, List<Listener> listeners)
    {
        var address = McpdOptionsValidator.TryParseBind(failed.Bind, out var parsed) && parsed is not null ? parsed : IPAddress.Any;
        for (var port = Math.Max(1024, failed.Port + 1); port < Math.Min(65536, failed.Port + 200); port++)
        {
            if (listeners.Any(l => l.Port == port))
            {
                continue;
            }

            using var probe = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                probe.Bind(new IPEndPoint(address, port));
                return port;
            }
            catch (SocketException)
            {
                // Taken too: try the next one.
            }
        }

        return null;
    }
}
