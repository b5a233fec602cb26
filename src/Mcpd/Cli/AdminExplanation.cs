using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Cli;

/// <summary>
/// What an mcpd server's admin API knows about a Modbus exception it answered (docs/api.md): a 02 on a read (the
/// table's size), a 02 on a write (which addresses are read-only), a 0B (no such unit, or its upstream's state). Only
/// GET requests: asking never changes the device.
/// </summary>
internal static class AdminExplanation
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    /// <summary>The admin API's reason for <paramref name="code"/>, or null when it has none (or cannot be reached).</summary>
    public static async Task<string?> AskAsync(Uri admin, byte unit, RegisterTable table, int address, int count, bool write, ModbusExceptionCode code, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = admin, Timeout = Timeout };
        try
        {
            return code switch
            {
                ModbusExceptionCode.IllegalDataAddress => await RangeAsync(http, unit, table, address, count, write, cancellationToken),
                ModbusExceptionCode.GatewayTargetDeviceFailedToRespond or ModbusExceptionCode.GatewayPathUnavailable => await UnitAsync(http, unit, cancellationToken),
                _ => null,
            };
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
        {
            return $"the admin API at {admin} could not be asked ({ex.Message})";
        }
    }

    private static async Task<string?> RangeAsync(HttpClient http, byte unit, RegisterTable table, int address, int count, bool write, CancellationToken cancellationToken)
    {
        var path = string.Create(CultureInfo.InvariantCulture, $"api/devices/{unit}/registers?table={table.ToString().ToLowerInvariant()}&from={address}&count={count}");
        using var response = await http.GetAsync(path, cancellationToken);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        if (!response.IsSuccessStatusCode)
        {
            return body.RootElement.TryGetProperty("error", out var error) ? error.GetString() : null;
        }

        var readOnly = body.RootElement.GetProperty("registers").EnumerateArray()
            .Where(r => r.TryGetProperty("readOnly", out var flag) && flag.GetBoolean())
            .Select(r => r.TryGetProperty("name", out var name) ? $"{r.GetProperty("address").GetInt32()} ({name.GetString()})" : $"{r.GetProperty("address").GetInt32()}")
            .ToList();
        return write && readOnly.Count > 0
            ? $"read-only in the device's register map: address{(readOnly.Count == 1 ? "" : "es")} {string.Join(", ", readOnly)}"
            : null;
    }

    private static async Task<string?> UnitAsync(HttpClient http, byte unit, CancellationToken cancellationToken)
    {
        var devices = await http.GetFromJsonAsync<JsonElement>("api/devices", cancellationToken);
        var device = devices.EnumerateArray().FirstOrDefault(d => d.GetProperty("unit").GetInt32() == unit);
        if (device.ValueKind == JsonValueKind.Undefined)
        {
            return $"no device has unit {unit} (the server's units: {string.Join(", ", devices.EnumerateArray().Select(d => d.GetProperty("unit").GetInt32()))})";
        }

        return device.TryGetProperty("upstream", out var upstream)
            ? $"unit {unit} is a gateway to upstream {upstream.GetString()}, which is {device.GetProperty("state").GetString()}"
            : null;
    }
}
