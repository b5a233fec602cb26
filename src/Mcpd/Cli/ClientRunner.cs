using System.Net.Sockets;
using System.Security.Authentication;
using Mcpd.Client;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Configuration;
using Mcpd.Server.Devices;

namespace Mcpd.Cli;

/// <summary>Connects, runs one client action, and turns failures into one clear line and an exit code.</summary>
internal static class ClientRunner
{
    /// <summary>What a read or write command asks of which unit, and where that server's admin API is (if given).</summary>
    public sealed record Request(byte Unit, RegisterTable Table, int Address, int Count, bool Write, Uri? Admin);

    /// <summary>
    /// Runs <paramref name="action"/> on a new client of <paramref name="endpoint"/>. Every failure is one line that
    /// says which side refused: the server (a Modbus exception, explained as the specification defines it, with a
    /// hint when the address looks one-based and the reason its admin API gives when <see cref="Request.Admin"/> is
    /// set), either side of a TLS handshake, the network, or this client before sending.
    /// </summary>
    public static async Task<int> RunAsync(HostPort endpoint, double timeoutSeconds, ClientTlsOptions? tls, Request request, Func<ModbusTcpClient, Task> action, CancellationToken cancellationToken)
    {
        var options = new ModbusClientOptions { RequestTimeout = TimeSpan.FromSeconds(timeoutSeconds), ConnectTimeout = TimeSpan.FromSeconds(timeoutSeconds), Tls = tls };
        try
        {
            await using var client = await ModbusTcpClient.ConnectAsync(endpoint.Host, endpoint.Port, options, cancellationToken);
            await action(client);
            return ExitCodes.Success;
        }
        catch (ModbusException ex)
        {
            await Console.Error.WriteLineAsync($"mcpd: {endpoint} refused: {ex.Message}");
            if (ex.Code == ModbusExceptionCode.IllegalDataAddress && OneBasedHint(request.Table, request.Address) is { } hint)
            {
                await Console.Error.WriteLineAsync($"mcpd: hint: {hint}");
            }

            if (request.Admin is { } admin
                && await AdminExplanation.AskAsync(admin, request.Unit, request.Table, request.Address, request.Count, request.Write, ex.Code, cancellationToken) is { } reason)
            {
                await Console.Error.WriteLineAsync($"mcpd: the admin API says: {reason}");
            }
        }
        catch (SocketException ex)
        {
            await Console.Error.WriteLineAsync(CliValues.CannotConnect(endpoint, ex));
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or AuthenticationException)
        {
            // The client's messages name the server and what the connection was doing (a TLS refusal: which side and why).
            await Console.Error.WriteLineAsync($"mcpd: {ex.Message}");
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"mcpd: not sent: {WithoutParameterName(ex)}");
        }

        return ExitCodes.RequestFailed;
    }

    /// <summary>
    /// Modbus addresses are zero-based on the wire (Application Protocol 4.4), while manuals number registers from
    /// 1 with the table's prefix: 40001 is holding address 0. An address refused as illegal that reads like such a
    /// reference gets the address it probably means.
    /// </summary>
    private static string? OneBasedHint(RegisterTable table, int address)
    {
        var prefix = table switch
        {
            RegisterTable.Holding => 40001,
            RegisterTable.Input => 30001,
            RegisterTable.Discrete => 10001,
            _ => 0,
        };
        return prefix > 0 && address >= prefix && address < prefix + 9999
            ? $"addresses are zero-based: register {address} of a manual is address {address - prefix} here"
            : null;
    }

    /// <summary>An argument check's message without .NET's "(Parameter 'x')" and "Actual value was" suffixes.</summary>
    private static string WithoutParameterName(Exception exception)
    {
        var message = exception.Message.Split('\n')[0];
        return exception is ArgumentException { ParamName: { } name }
            ? message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal)
            : message;
    }

    /// <summary>The register map of <paramref name="unit"/> in an mcpd config file, or an empty map.</summary>
    public static RegisterMap LoadMap(string? file, byte unit)
    {
        if (file is null)
        {
            return new RegisterMap([]);
        }

        var configuration = McpdConfiguration.Build(file, new Dictionary<string, string?>(), includeEnvironment: false);
        var options = ConfigurationTree.Of(configuration).Bound.Options;
        var device = options.EffectiveDevices.FirstOrDefault(d => d.Unit == unit)
            ?? throw new ArgumentException($"{file} has no device with unit {unit} (its units: {string.Join(", ", options.EffectiveDevices.Select(d => d.Unit))}); give --unit.");
        return new RegisterMap(device.Registers.Select(RegisterDefinition.From));
    }
}
