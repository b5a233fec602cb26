using Mcpd.Server.Devices;

namespace Mcpd.Server.Tests.Devices;

/// <summary>Runs PDUs written as hex on a simulated device, for tests that read like the spec's tables.</summary>
internal static class SimulatedDeviceHex
{
    /// <summary>Executes the request PDU <paramref name="requestHex"/>; returns the response PDU as hex.</summary>
    public static string ExecuteHex(this SimulatedDevice device, string requestHex)
    {
        var response = new byte[253];
        var length = device.Execute(Convert.FromHexString(requestHex), response);
        return Convert.ToHexString(response, 0, length);
    }
}
