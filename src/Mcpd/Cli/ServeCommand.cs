using System.CommandLine;
using System.Net.Sockets;
using Mcpd.Server.Configuration;
using Mcpd.Server.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Cli;

/// <summary><c>mcpd serve</c>: runs the server until SIGINT/SIGTERM.</summary>
internal static partial class ServeCommand
{
    private static readonly string Version = typeof(ServeCommand).Assembly.GetName().Version?.ToString(3) ?? "?";

    public static Command Create()
    {
        var config = new Option<string?>("--config", "-c") { Description = $"Configuration file (YAML or JSON); default: ./{McpdConfiguration.DefaultFileName} when it exists" };
        var modbusPort = new Option<int?>("--modbus-port") { Description = "Modbus TCP port (default 502; ports below 1024 need root)", CustomParser = CliValues.Port() };
        var bind = new Option<string?>("--bind") { Description = "Address to listen on: * (all interfaces, default), localhost, or an IP address" };
        var mcpPort = new Option<int?>("--mcp-port") { Description = "MCP port (default 8080)", CustomParser = CliValues.Port() };
        var mcpCrcPort = new Option<int?>("--mcp-crc-port") { Description = "Port of a CRC-framed MCP listener (off by default)", CustomParser = CliValues.Port() };
        var httpPort = new Option<int?>("--http-port") { Description = "Port of the HTTP admin API: health, metrics, devices (default 8081, on 127.0.0.1)", CustomParser = CliValues.Port() };
        var logFormat = new Option<string>("--log-format") { Description = "Console log format", DefaultValueFactory = _ => "text" };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var command = new Command("serve", "Run the server: Modbus TCP devices from the register map, and MCP")
        {
            config, modbusPort, bind, mcpPort, mcpCrcPort, httpPort, logFormat,
        };
        command.SetAction((result, cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>();
            if (result.GetValue(modbusPort) is { } port)
            {
                overrides["modbus:port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (result.GetValue(bind) is { } address)
            {
                overrides["modbus:bind"] = address;
                overrides["mcp:bind"] = address;
            }

            if (result.GetValue(mcpPort) is { } mcp)
            {
                overrides["mcp:port"] = mcp.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (result.GetValue(mcpCrcPort) is { } crc)
            {
                overrides["mcp:crcPort"] = crc.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (result.GetValue(httpPort) is { } http)
            {
                overrides["admin:port"] = http.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return RunAsync(result.GetValue(config), overrides, result.GetValue(logFormat) == "json", cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(string? configPath, Dictionary<string, string?> overrides, bool jsonLogs, CancellationToken cancellationToken)
    {
        var file = McpdConfiguration.ResolveFile(configPath);
        IConfigurationRoot configuration;
        ReloadGate? gate = null;
        try
        {
            configuration = McpdConfiguration.Build(file, overrides, onReloadFailure: message => gate?.ReportLoadFailure(message));
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or FormatException or YamlDotNet.Core.YamlException)
        {
            await Console.Error.WriteLineAsync($"mcpd: cannot read the configuration: {ex.Message}");
            return ExitCodes.BadConfiguration;
        }

        var problems = McpdConfiguration.Check(configuration);
        if (problems.Count > 0)
        {
            await Console.Error.WriteLineAsync($"mcpd: the configuration{(file is null ? "" : $" ({file})")} has {problems.Count} problem(s):");
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync($"  {problem}");
            }

            return ExitCodes.BadConfiguration;
        }

        // Hot reload: the server runs on what the gate lets through, the last valid state of the file.
        using var reloads = gate = new ReloadGate(configuration, McpdConfiguration.LoggingSection);
        await using var app = McpdHost.Build(gate, builder => ConsoleLogging.Add(builder.Logging, jsonLogs));
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("mcpd");
        LogStarting(logger, Version, file ?? "none (built-in defaults)");
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (BindFailure(ex) is { } reason)
        {
            var settings = app.Services.GetRequiredService<IOptions<McpdOptions>>().Value;
            var (protocol, address, flag) = FailedListener(ex.Message, settings);
            await Console.Error.WriteLineAsync(
                $"mcpd: cannot listen for {protocol} on {address}: {reason}. " +
                $"Pick another port with {flag} (for example {flag} {(flag == "--modbus-port" ? 5020 : 18080)}) or set it in the configuration.");
            return ExitCodes.CannotListen;
        }

        await app.WaitForShutdownAsync(CancellationToken.None);
        return ExitCodes.Success;
    }

    /// <summary>Which listener failed, from the port in Kestrel's "Failed to bind to address ..." message.</summary>
    private static (string Protocol, string Address, string Flag) FailedListener(string message, McpdOptions settings)
    {
        var modbus = ($"Modbus TCP", $"{settings.Modbus.Bind}:{settings.Modbus.Port}", "--modbus-port");
        foreach (var (protocol, bind, port, flag) in new[]
        {
            ("MCP", settings.Mcp.Bind, settings.Mcp.Port, "--mcp-port"),
            ("CRC-framed MCP", settings.Mcp.Bind, settings.Mcp.CrcPort ?? -1, "--mcp-crc-port"),
            ("the HTTP admin API", settings.Admin.Bind, settings.Admin.Port, "--http-port"),
        })
        {
            if (port > 0 && message.Contains($":{port}:", StringComparison.Ordinal) && port != settings.Modbus.Port)
            {
                return (protocol, $"{bind}:{port}", flag);
            }
        }

        return modbus;
    }

    /// <summary>Why Kestrel could not bind, in words, or null when <paramref name="exception"/> is something else.</summary>
    private static string? BindFailure(Exception exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            switch (ex)
            {
                case AddressInUseException:
                case SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse }:
                    return "the port is already in use by another process";
                case SocketException { SocketErrorCode: SocketError.AccessDenied }:
                    return "permission denied (ports below 1024 need root or the CAP_NET_BIND_SERVICE capability)";
                case SocketException { SocketErrorCode: SocketError.AddressNotAvailable }:
                    return "the address is not one of this machine's";
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "mcpd {Version} starting; configuration file: {File}")]
    private static partial void LogStarting(ILogger logger, string version, string file);
}
