using System.Net.Sockets;
using Mcpd.Client;
using Mcpd.Client.Modbus;
using Mcpd.Server.Configuration;
using Mcpd.Server.Devices;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Cli;

/// <summary>Connects, runs one client action, and turns failures into one clear line and an exit code.</summary>
internal static class ClientRunner
{
    public static async Task<int> RunAsync(HostPort endpoint, double timeoutSeconds, Func<ModbusTcpClient, Task> action, CancellationToken cancellationToken)
    {
        var options = new ModbusClientOptions { RequestTimeout = TimeSpan.FromSeconds(timeoutSeconds), ConnectTimeout = TimeSpan.FromSeconds(timeoutSeconds) };
        try
        {
            await using var client = await ModbusTcpClient.ConnectAsync(endpoint.Host, endpoint.Port, options, cancellationToken);
            await action(client);
            return ExitCodes.Success;
        }
        catch (ModbusException ex)
        {
            await Console.Error.WriteLineAsync($"mcpd: {endpoint}: {ex.Message}");
        }
        catch (SocketException ex)
        {
            await Console.Error.WriteLineAsync($"mcpd: cannot connect to {endpoint}: {ex.Message}");
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or FormatException or OverflowException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"mcpd: {endpoint}: {ex.Message}");
        }

        return ExitCodes.RequestFailed;
    }

    /// <summary>The register map of <paramref name="unit"/> in an mcpd config file, or an empty map.</summary>
    public static RegisterMap LoadMap(string? file, byte unit)
    {
        if (file is null)
        {
            return new RegisterMap([]);
        }

        var configuration = McpdConfiguration.Build(file, new Dictionary<string, string?>(), includeEnvironment: false);
        var options = new McpdOptions();
        configuration.Bind(options);
        var device = options.EffectiveDevices.FirstOrDefault(d => d.Unit == unit)
            ?? throw new ArgumentException($"{file} has no device with unit {unit}.");
        return new RegisterMap(device.Registers.Select(RegisterDefinition.From));
    }
}
