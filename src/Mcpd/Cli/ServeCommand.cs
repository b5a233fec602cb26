using System.CommandLine;
using System.Net.Sockets;
using Mcpd.Server.Configuration;
using Mcpd.Server.Hosting;
using Mcpd.Server.Sessions;
using Mcpd.Server.Security;
using Mcpd.Server.Telemetry;
using Microsoft.AspNetCore.Builder;
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
        var bind = new Option<string?>("--bind") { Description = "Address the Modbus and MCP listeners listen on: 127.0.0.1 (default), * (all interfaces), localhost, or an IP address" };
        var mcpPort = new Option<int?>("--mcp-port") { Description = "MCP port (default 8080)", CustomParser = CliValues.Port() };
        var mcpCrcPort = new Option<int?>("--mcp-crc-port") { Description = "Port of a CRC-framed MCP listener (off by default)", CustomParser = CliValues.Port() };
        var modbusTlsPort = new Option<int?>("--modbus-tls-port") { Description = "Port of the Modbus/TCP Security listener, Modbus over mutual TLS (802; off by default; needs modbus:tls in the file)", CustomParser = CliValues.Port() };
        var httpPort = new Option<int?>("--http-port") { Description = "Port of the HTTP admin API: health, metrics, devices (default 8081, on 127.0.0.1)", CustomParser = CliValues.Port() };
        var logFormat = new Option<string>("--log-format")
        {
            Description = "Console log format: text or json (one object per line)",
            HelpName = "text|json",
            DefaultValueFactory = _ => "text",
            CustomParser = CliValues.OneOf("text", "json"),
        };
        var command = new Command("serve", "Run the server: Modbus TCP devices from the register map, and MCP")
        {
            config, modbusPort, bind, mcpPort, mcpCrcPort, modbusTlsPort, httpPort, logFormat,
        };
        (Option<int?> Flag, string Key)[] ports = [(modbusPort, "modbus:port"), (mcpPort, "mcp:port"), (mcpCrcPort, "mcp:crcPort"), (modbusTlsPort, "modbus:tls:port"), (httpPort, "admin:port")];
        command.SetAction((result, cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>();
            foreach (var (flag, key) in ports)
            {
                if (result.GetValue(flag) is { } port)
                {
                    overrides[key] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            if (result.GetValue(bind) is { } address)
            {
                overrides["modbus:bind"] = address;
                overrides["mcp:bind"] = address;
            }

            return RunAsync(result.GetValue(config), overrides, result.GetValue(logFormat) == "json", cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(string? configPath, Dictionary<string, string?> overrides, bool jsonLogs, CancellationToken cancellationToken)
    {
        var file = McpdConfiguration.ResolveFile(configPath);
        IConfigurationRoot configuration;
        try
        {
            configuration = McpdConfiguration.Build(file, overrides);
        }
        catch (Exception ex) when (ConfigurationFileError.IsLoadFailure(ex))
        {
            await Console.Error.WriteLineAsync($"mcpd: cannot read the configuration: {ConfigurationFileError.Describe(ex, file)}");
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
        using var gate = new ReloadGate(configuration);
        var starting = true;
        WebApplication built;
        try
        {
            built = McpdHost.Build(gate.Configuration, builder =>
            {
                ConsoleLogging.Add(builder.Logging, jsonLogs);
                // A listener that cannot bind is said once, below, in one line with advice: not again by the host with a trace.
                builder.Logging.AddFilter(HostCategory, level => !starting || level == LogLevel.Critical);
            });
        }
        catch (Exception ex) when (Find<TlsFileException>(ex) is { } unusable)
        {
            // The TLS files are read when the listeners are set up: one that cannot be used is a configuration problem.
            await Console.Error.WriteLineAsync($"mcpd: {unusable.Message}");
            return ExitCodes.BadConfiguration;
        }

        await using var app = built;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("mcpd");
        LogStarting(logger, Version, file ?? "none (built-in defaults)");
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (Find<TlsFileException>(ex) is { } unusable)
        {
            // An upstream's TLS files are read when the gateway starts.
            await Console.Error.WriteLineAsync($"mcpd: {unusable.Message}");
            return ExitCodes.BadConfiguration;
        }
        catch (Exception ex) when (BindFailure(ex) is { } failure)
        {
            var settings = app.Services.GetRequiredService<IOptions<McpdOptions>>().Value;
            await Console.Error.WriteLineAsync($"mcpd: {ListenFailure.Explain(failure.SocketErrorCode, ex.Message, settings)}");
            return ExitCodes.CannotListen;
        }
        finally
        {
            starting = false;
        }

        // Disposed first: stops watching and leaves a reload being read or checked behind, so shutdown never waits for one.
        using var watcher = file is null ? null : new ConfigurationFileWatcher(
            file, running => McpdConfiguration.Build(file, overrides, running: running), ex => ConfigurationFileError.IsLoadFailure(ex) ? ConfigurationFileError.Describe(ex, file) : null,
            gate, app.Services.GetRequiredService<McpdMetrics>(), app.Services.GetRequiredService<ReloadStatus>(), app.Services.GetRequiredService<ILogger<ConfigurationFileWatcher>>());
        await app.WaitForShutdownAsync(CancellationToken.None);
        return app.Services.GetRequiredService<ClusterNode>().NodeIdTaken ? ExitCodes.NodeIdInUse : ExitCodes.Success;
    }

    /// <summary>The Generic Host's own category, which logs a failed start with its whole exception.</summary>
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>The <typeparamref name="T"/> in <paramref name="exception"/>'s chain of inner exceptions, or null.</summary>
    private static T? Find<T>(Exception exception)
        where T : Exception
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is T found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>The socket error under a failed start, or null when <paramref name="exception"/> is something else.</summary>
    private static SocketException? BindFailure(Exception exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            switch (ex)
            {
                case AddressInUseException:
                    return new SocketException((int)SocketError.AddressAlreadyInUse);
                case SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse or SocketError.AccessDenied or SocketError.AddressNotAvailable } socket:
                    return socket;
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "mcpd {Version} starting; configuration file: {File}")]
    private static partial void LogStarting(ILogger logger, string version, string file);
}
