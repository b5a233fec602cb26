using System.CommandLine;
using System.Threading.Channels;
using Mcpd.Client;
using Mcpd.Client.Modbus;
using Mcpd.Server.Agent;
using Mcpd.Server.Configuration;
using Mcpd.Server.Devices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Mcpd.Cli;

/// <summary>
/// <c>mcpd agent</c>: the agent endpoint (Model Context Protocol) on standard input and output, for assistants that
/// start a process (docs/agents.md). <c>--server URL</c> relays to a running mcpd's <c>/mcp</c>, where that server's
/// callers, roles, writes setting and audit apply; <c>--device HOST:PORT</c> serves the same tools for one Modbus TCP
/// device reached directly, described by <c>--map FILE</c>. Standard output carries the protocol alone: logs go to
/// standard error.
/// </summary>
internal static class AgentCommand
{
    /// <summary>The environment variable that holds the admin token for <c>--server</c>, so it is not in a process list.</summary>
    public const string TokenVariable = "MCPD_AGENT_TOKEN";

    public static Command Create()
    {
        var server = new Option<Uri?>("--server")
        {
            Description = "A running mcpd's admin API, http://HOST:8081: its agent endpoint /mcp is relayed",
            CustomParser = result => Uri.TryCreate(result.Tokens[^1].Value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
                ? uri
                : Invalid(result),
        };
        var device = new Option<HostPort?>("--device")
        {
            Description = $"A Modbus TCP device, HOST:PORT (port {Endpoint.DefaultModbusPort} when left out), served directly",
            CustomParser = result =>
            {
                try
                {
                    return HostPort.Parse(result.Tokens[^1].Value, Endpoint.DefaultModbusPort);
                }
                catch (FormatException ex)
                {
                    result.AddError(ex.Message);
                    return null;
                }
            },
        };
        var map = new Option<string?>("--map") { Description = "With --device: an mcpd config file whose device entry (--unit) describes it, and whose agent section applies (agent.allowWrites)" };
        var unit = new Option<byte>("--unit", "-u")
        {
            Description = "With --device: the unit id (0..255)",
            DefaultValueFactory = _ => 1,
            CustomParser = CliValues.Integer<byte>("a unit id", 0, 255),
        };
        var timeout = new Option<double>("--timeout")
        {
            Description = "With --device: seconds to wait for each Modbus response",
            DefaultValueFactory = _ => 3,
            CustomParser = CliValues.Seconds(3600),
        };
        var command = new Command("agent", "Serve the agent endpoint (Model Context Protocol) on stdin/stdout for an AI assistant: --server URL or --device HOST:PORT")
        {
            server, device, map, unit, timeout,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var url = result.GetValue(server);
            var endpoint = result.GetValue(device);
            if ((url is null) == (endpoint is null))
            {
                return CliValues.RefuseUsage(result, "give --server URL (a running mcpd) or --device HOST:PORT (a Modbus TCP device), one of them");
            }

            if (url is not null)
            {
                return result.GetValue(map) is not null
                    ? CliValues.RefuseUsage(result, "--map: with --server the server's own register maps apply")
                    : await RelayAsync(url, cancellationToken);
            }

            McpdOptions options;
            try
            {
                options = LoadOptions(result.GetValue(map));
            }
            catch (Exception ex) when (ConfigurationFileError.IsLoadFailure(ex) || ex is InvalidOperationException)
            {
                return CliValues.RefuseUsage(result, $"--map: {ConfigurationFileError.Describe(ex, result.GetValue(map))}");
            }

            var deviceOptions = result.GetValue(map) is null
                ? new DeviceOptions { Unit = result.GetValue(unit), Name = endpoint!.Value.ToString() }
                : options.EffectiveDevices.FirstOrDefault(d => d.Unit == result.GetValue(unit));
            if (deviceOptions is null)
            {
                return CliValues.RefuseUsage(result, $"--map: {result.GetValue(map)} has no device with unit {result.GetValue(unit)} (its units: {string.Join(", ", options.EffectiveDevices.Select(d => d.Unit))}); give --unit");
            }

            var seconds = TimeSpan.FromSeconds(result.GetValue(timeout));
            await ServeDeviceAsync(endpoint!.Value, deviceOptions, options.Agent, new ModbusClientOptions { RequestTimeout = seconds, ConnectTimeout = seconds }, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Uri? Invalid(System.CommandLine.Parsing.ArgumentResult result)
    {
        result.AddError($"{CliValues.NameOf(result)}: '{result.Tokens[^1].Value}' is not an http:// or https:// address");
        return null;
    }

    /// <summary>The configuration of <paramref name="file"/> (or the defaults), refused with every problem it has.</summary>
    private static McpdOptions LoadOptions(string? file)
    {
        if (file is null)
        {
            return new McpdOptions();
        }

        var configuration = McpdConfiguration.Build(file, new Dictionary<string, string?>(), includeEnvironment: false);
        var problems = McpdConfiguration.Check(configuration);
        return problems.Count == 0
            ? ConfigurationTree.Of(configuration).Bound.Options
            : throw new InvalidOperationException(string.Join("; ", problems));
    }

    /// <summary>The tools over one Modbus TCP device, on stdio, until the assistant closes standard input.</summary>
    private static async Task ServeDeviceAsync(HostPort endpoint, DeviceOptions device, AgentOptions agent, ModbusClientOptions client, CancellationToken cancellationToken)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        StandardErrorLogging(builder.Logging);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddOptions<AgentOptions>().Configure(options =>
        {
            options.AllowWrites = agent.AllowWrites;
            options.MaxToolCalls = agent.MaxToolCalls;
            options.ToolCallWindow = agent.ToolCallWindow;
            options.SubscriptionInterval = agent.SubscriptionInterval;
            options.MaxSubscriptions = agent.MaxSubscriptions;
        });
        builder.Services.AddSingleton<IAgentBackend>(provider => new DirectDeviceBackend(endpoint, device, client, provider.GetRequiredService<ILoggerFactory>()));
        AgentEndpoint.AddServer(builder.Services).WithStdioServerTransport();
        using var host = builder.Build();
        await host.RunAsync(cancellationToken);
    }

    /// <summary>
    /// Relays JSON-RPC messages between standard input/output and <paramref name="server"/>'s <c>/mcp</c> (Streamable
    /// HTTP, with the token of <see cref="TokenVariable"/>), as they are: the server's tools, sessions and
    /// notifications reach the assistant unchanged. Ends when either side ends.
    /// </summary>
    private static async Task<int> RelayAsync(Uri server, CancellationToken cancellationToken)
    {
        using var loggers = LoggerFactory.Create(StandardErrorLogging);
        var options = new HttpClientTransportOptions
        {
            Endpoint = new Uri(server, AgentEndpoint.Path),
            TransportMode = HttpTransportMode.StreamableHttp,
            Name = "mcpd",
        };
        if (Environment.GetEnvironmentVariable(TokenVariable) is { Length: > 0 } token)
        {
            options.AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {token}" };
        }

        await using var upstream = await new HttpClientTransport(options, loggers).ConnectAsync(cancellationToken);
        await using var stdio = new StdioServerTransport("mcpd", loggers);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var toServer = PumpAsync(stdio.MessageReader, upstream, stdio, stop);
        var toAssistant = PumpAsync(upstream.MessageReader, stdio, upstream, stop);
        await Task.WhenAny(toServer, toAssistant);
        await stop.CancelAsync();
        var problem = await toServer ?? await toAssistant;
        if (problem is not null)
        {
            await Console.Error.WriteLineAsync($"mcpd: {server}: {problem}");
            return ExitCodes.RequestFailed;
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// Moves messages from <paramref name="from"/> to <paramref name="to"/>; null at the end of input, else what failed.
    /// A request the other side refused at the transport (the server's HTTP answer was an error) is answered to its
    /// sender as a JSON-RPC error, so a client that offers a newer protocol revision first falls back, and an expired
    /// token is an error in the assistant rather than the end of the process.
    /// </summary>
    private static async Task<string?> PumpAsync(ChannelReader<JsonRpcMessage> from, ITransport to, ITransport back, CancellationTokenSource stop)
    {
        try
        {
            await foreach (var message in from.ReadAllAsync(stop.Token))
            {
                try
                {
                    await to.SendMessageAsync(message, stop.Token);
                }
                catch (Exception ex) when (message is JsonRpcRequest request && ex is HttpRequestException or McpException)
                {
                    var code = ex is McpProtocolException protocol ? protocol.ErrorCode : McpErrorCode.InternalError;
                    await back.SendMessageAsync(new JsonRpcError { Id = request.Id, Error = new JsonRpcErrorDetail { Code = (int)code, Message = ex.Message } }, stop.Token);
                }
            }

            return null;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or McpException)
        {
            return ex.Message;
        }
    }

    /// <summary>Every line to standard error, which an assistant shows as the server's log: standard output is the protocol's.</summary>
    private static void StandardErrorLogging(ILoggingBuilder logging)
    {
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("ModelContextProtocol", LogLevel.Warning);
        logging.AddSimpleConsole(o => o.SingleLine = true);
        logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }
}
