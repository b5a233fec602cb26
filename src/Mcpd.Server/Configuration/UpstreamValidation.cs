using Mcpd.Client;
using Mcpd.Server.Gateway;

namespace Mcpd.Server.Configuration;

/// <summary>The meaning of <c>upstreams</c>, of the devices that use them, and of device names (part of <see cref="McpdOptionsValidator"/>).</summary>
internal static class UpstreamValidation
{
    public static void Check(McpdOptions options, List<string> problems)
    {
        foreach (var (name, upstream) in options.Upstreams)
        {
            var path = $"upstreams:{name}";
            var isTcp = upstream.Kind.Equals(UpstreamKinds.Tcp, StringComparison.OrdinalIgnoreCase);
            var isRtu = upstream.Kind.Equals(UpstreamKinds.Rtu, StringComparison.OrdinalIgnoreCase);
            if (!isTcp && !isRtu)
            {
                problems.Add($"{path}:kind: '{upstream.Kind}' is not \"tcp\" or \"rtu\"");
            }

            if (upstream.Address is not null && !HostPort.TryParse(upstream.Address, out _))
            {
                problems.Add($"{path}:address: '{upstream.Address}' is not host:port");
            }
            else if (isTcp && upstream.Address is null)
            {
                problems.Add($"{path}:address: a tcp upstream needs host:port");
            }

            if (upstream.RequestTimeout <= TimeSpan.Zero)
            {
                problems.Add($"{path}:requestTimeout: {upstream.RequestTimeout} must be positive");
            }

            if (upstream.Tls.IsEnabled && !isTcp)
            {
                problems.Add($"{path}:tls: TLS is for tcp upstreams (an RTU bus has no TLS)");
            }
            else if (upstream.Tls.Key is not null && upstream.Tls.Certificate is null)
            {
                problems.Add($"{path}:tls:key: a key is set without its certificate");
            }

            CheckProbe(upstream.Probe, $"{path}:probe", problems);
            if (isTcp)
            {
                upstream.Tcp.Check($"{path}:tcp", problems);
            }
            else if (isRtu)
            {
                upstream.Rtu.Check($"{path}:rtu", problems, upstream.Address is not null);
            }
        }

        var names = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Devices.Count; i++)
        {
            var device = options.Devices[i];
            if (device.Name is not null && !names.TryAdd(device.Name, i))
            {
                problems.Add($"devices:{i}:name: '{device.Name}' is also the name of devices:{names[device.Name]}");
            }

            if (device.Upstream is null)
            {
                continue;
            }

            if (!options.Upstreams.ContainsKey(device.Upstream))
            {
                problems.Add($"devices:{i}:upstream: no upstream '{device.Upstream}' in upstreams");
            }

            if (device.UpstreamUnit is < 0 or > 247)
            {
                problems.Add($"devices:{i}:upstreamUnit: {device.UpstreamUnit} is outside 0..247");
            }

            if (device.Registers.Count > 0)
            {
                problems.Add($"devices:{i}:registers: a device behind an upstream is the real device's; it has no simulated register map");
            }
        }
    }

    private static void CheckProbe(UpstreamProbeOptions probe, string path, List<string> problems)
    {
        if (probe.Interval < TimeSpan.Zero)
        {
            problems.Add($"{path}:interval: {probe.Interval} must not be negative (zero turns probing off)");
        }

        if (probe.Unit is < 0 or > 247)
        {
            problems.Add($"{path}:unit: {probe.Unit} is outside 0..247");
        }

        if (probe.Address is < 0 or > ushort.MaxValue)
        {
            problems.Add($"{path}:address: {probe.Address} is outside 0..65535");
        }

        if (probe.Count is < 1 or > 125)
        {
            problems.Add($"{path}:count: {probe.Count} is outside 1..125");
        }
    }
}
