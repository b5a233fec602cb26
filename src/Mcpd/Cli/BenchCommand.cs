using System.CommandLine;
using System.Net.Sockets;
using System.Security.Authentication;
using Mcpd.Client;
using Mcpd.Client.Mcp;
using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;

namespace Mcpd.Cli;

/// <summary>
/// <c>mcpd bench modbus|mcp HOST:PORT</c>: a load generator for both protocols, built on mcpd's own clients. For
/// comparisons between servers prefer the independent C tools of the shared bench kit; this one is for users.
/// </summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Load-test a server: requests/s and latency percentiles");
        bench.Subcommands.Add(CreateModbus());
        bench.Subcommands.Add(CreateMcp());
        return bench;
    }

    private static Command CreateModbus()
    {
        var common = new CommonOptions(Endpoint.DefaultModbusPort);
        var unit = new Option<byte>("--unit") { Description = "Unit id (0..255)", DefaultValueFactory = _ => 1, CustomParser = CliValues.Integer<byte>("a unit id", 0, 255) };
        var address = new Option<ushort>("--address")
        {
            Description = "First holding register, zero-based",
            DefaultValueFactory = _ => 0,
            CustomParser = CliValues.Integer<ushort>("a zero-based address", 0, 65535),
        };
        var count = new Option<int>("--count")
        {
            Description = $"Registers per FC03 read (1..{ModbusLimits.MaxReadRegisters})",
            DefaultValueFactory = _ => 10,
            CustomParser = CliValues.Integer("a register count", 1, ModbusLimits.MaxReadRegisters),
        };
        var command = new Command("modbus", "FC03 reads of holding registers") { unit, address, count };
        common.AddTo(command);
        command.SetAction((result, cancellationToken) => common.RunAsync(result,
            (endpoint, tls) => ModbusTcpClient.ConnectAsync(endpoint.Host, endpoint.Port, new ModbusClientOptions { Tls = tls }, cancellationToken),
            async client =>
            {
                await client.ReadHoldingRegistersAsync(result.GetValue(unit), result.GetValue(address), result.GetValue(count), cancellationToken);
                return null;
            }, cancellationToken));
        return command;
    }

    private static Command CreateMcp()
    {
        var common = new CommonOptions(Endpoint.DefaultMcpPort);
        var method = new Option<string>("--method") { Description = "The method to call", DefaultValueFactory = _ => "sys.echo" };
        var bodyBytes = new Option<int>("--body-bytes")
        {
            Description = "Size of the request body in bytes",
            DefaultValueFactory = _ => 16,
            CustomParser = CliValues.Integer("a body size", 0, 16 * 1024 * 1024),
        };
        var crc = McpCommands.CrcOption();
        var headers = McpCommands.HeaderOption();
        var command = new Command("mcp", "Calls of one MCP method (sys.echo by default)") { method, bodyBytes, headers, crc };
        common.AddTo(command);
        command.SetAction((result, cancellationToken) =>
        {
            var body = new byte[result.GetValue(bodyBytes)];
            var name = result.GetRequiredValue(method);
            var requestHeaders = McpCommands.ParseHeaders(result.GetValue(headers) ?? []);
            return common.RunAsync(result,
                (endpoint, tls) => McpClient.ConnectAsync(endpoint.Host, endpoint.Port, new McpClientOptions { Framing = McpCommands.FramingOf(result, crc), Tls = tls }, cancellationToken),
                async client => McpCommands.ProblemOf(await client.CallAsync(name, body, requestHeaders, cancellationToken)),
                cancellationToken);
        });
        return command;
    }

    private sealed class CommonOptions(int defaultPort)
    {
        private readonly Argument<HostPort> _endpoint = Endpoint.Argument(defaultPort);

        private readonly Option<int> _connections = new("--conns", "-c")
        {
            Description = "Connections (1..10000)",
            DefaultValueFactory = _ => 16,
            CustomParser = CliValues.Integer("a number of connections", 1, 10_000),
        };

        private readonly Option<int> _depth = new("--depth", "-d")
        {
            Description = "Requests in flight per connection (1..1000)",
            DefaultValueFactory = _ => 1,
            CustomParser = CliValues.Integer("a depth", 1, 1000),
        };

        private readonly Option<double> _seconds = new("--seconds", "-s")
        {
            Description = "How long to run, in seconds",
            DefaultValueFactory = _ => 10,
            CustomParser = CliValues.Seconds(24 * 3600),
        };

        private readonly Option<long?> _requests = new("--requests", "-n")
        {
            Description = "Stop after this many requests (otherwise run for --seconds)",
            CustomParser = result => CliValues.Integer("a number of requests", 1L, long.MaxValue)(result),
        };
        private readonly Option<bool> _quiet = new("--quiet", "-q") { Description = "Print only the summary line" };

        private readonly ClientTlsFlags _tls = new();

        public void AddTo(Command command)
        {
            command.Arguments.Insert(0, _endpoint);
            foreach (var option in new Option[] { _connections, _depth, _seconds, _requests, _quiet })
            {
                command.Options.Add(option);
            }

            _tls.AddTo(command);
        }

        /// <summary>
        /// Connects every connection with the TLS of the flags (each makes its own handshake, before the clock starts),
        /// then runs <paramref name="send"/> (null when a response is good, else what was wrong with it).
        /// </summary>
        public async Task<int> RunAsync<TClient>(ParseResult result, Func<HostPort, ClientTlsOptions?, Task<TClient>> connect, Func<TClient, Task<string?>> send, CancellationToken cancellationToken)
            where TClient : IAsyncDisposable
        {
            var endpoint = result.GetRequiredValue(_endpoint);
            if (!_tls.TryRead(result, out var tls, out var tlsProblem))
            {
                return CliValues.RefuseUsage(result, tlsProblem);
            }

            var clients = new List<TClient>();
            try
            {
                for (var i = 0; i < result.GetValue(_connections); i++)
                {
                    clients.Add(await connect(endpoint, tls));
                }

                var runner = new LoadRunner(result.GetValue(_depth), TimeSpan.FromSeconds(result.GetValue(_seconds)), result.GetValue(_requests) ?? long.MaxValue, result.GetValue(_quiet));
                return await runner.RunAsync(clients, send, cancellationToken);
            }
            catch (SocketException ex)
            {
                await Console.Error.WriteLineAsync(CliValues.CannotConnect(endpoint, ex));
                return ExitCodes.RequestFailed;
            }
            catch (Exception ex) when (ex is TimeoutException or IOException or AuthenticationException)
            {
                await Console.Error.WriteLineAsync($"mcpd: {ex.Message}");
                return ExitCodes.RequestFailed;
            }
            finally
            {
                foreach (var client in clients)
                {
                    await client.DisposeAsync();
                }
            }
        }
    }
}
