using System.Net.Sockets;
using System.Security.Claims;
using Mcpd.Client;
using Mcpd.Client.Mcp;
using Mcpd.Client.Modbus;
using Mcpd.Server.Admin;
using Mcpd.Server.Devices;
using Mcpd.Server.Security;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Agent;

/// <summary>
/// <c>mcpd agent --device HOST:PORT --map FILE</c>: one Modbus TCP device, any vendor's, reached with mcpd's Modbus
/// client and described by a device entry of an mcpd configuration file. The person who started the process is the
/// caller: there are no roles to ask, and <c>agent.allowWrites</c> of that file alone decides writes; each write is
/// still an audit line (on standard error, where the process logs).
/// </summary>
internal sealed class DirectDeviceBackend(HostPort endpoint, DeviceOptions device, ModbusClientOptions clientOptions, ILoggerFactory loggers) : IAgentBackend, IAsyncDisposable
{
    private readonly ModbusClientDevice _device = new(endpoint, (byte)device.Unit, clientOptions);
    private readonly ILogger _audit = loggers.CreateLogger(SecurityLog.AuditCategory);
    private readonly WriteProtection _protection = new(device);
    private readonly RegisterMap _map = new(device.Registers.Select(RegisterDefinition.From));

    public IReadOnlyList<AgentDevice> Devices =>
    [
        new AgentDevice((byte)device.Unit, device.Name ?? endpoint.ToString(), "modbus-tcp", _device, _map, _protection.IsReadOnly)
        {
            Tables = new TableSizes(device.Coils, device.DiscreteInputs, device.HoldingRegisters, device.InputRegisters),
        },
    ];

    public string? Refusal(ClaimsPrincipal? caller, AccessKind access, byte unit, RegisterTable table, int address, int count) => null;

    public void Written(ClaimsPrincipal? caller, byte unit, RegisterTable table, int address, int count)
    {
        if (_audit.IsEnabled(LogLevel.Information))
        {
            var through = $"agent --device {endpoint}";
            AdminLog.Written(_audit, through, Environment.UserName, "none", unit, table, address, count);
        }
    }

    public string NameOf(ClaimsPrincipal? caller) => Environment.UserName;

    public IReadOnlyList<UpstreamHealth>? Upstreams() => null;

    public string? MethodRefusal(ClaimsPrincipal? caller, string method) => null;

    public Task<McpResponse> CallMethodAsync(ClaimsPrincipal? caller, string method, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken cancellationToken) =>
        throw new AgentToolException($"call_method needs an mcpd server; this agent talks Modbus to {endpoint} directly (mcpd agent --device)");

    public ValueTask DisposeAsync() => _device.DisposeAsync();

    /// <summary>
    /// The device as an <see cref="IModbusDevice"/>, so the admin API's register code reads and writes it as it does a
    /// gateway device. Connects at the first request and again after a connection failed.
    /// </summary>
    private sealed class ModbusClientDevice(HostPort endpoint, byte unit, ModbusClientOptions options) : IModbusDevice, IAsyncDisposable
    {
        private readonly SemaphoreSlim _connecting = new(1, 1);
        private ModbusTcpClient? _client;

        public async ValueTask<int> ExecuteAsync(ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken)
        {
            var client = await ConnectAsync(cancellationToken);
            try
            {
                var answer = await client.SendAsync(unit, request, cancellationToken);
                answer.CopyTo(response);
                return answer.Length;
            }
            catch (Exception ex) when (ex is IOException or TimeoutException)
            {
                // The stream may be out of step (a late answer): the next request starts on a new connection.
                await DropAsync(client);
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_client is not null)
            {
                await _client.DisposeAsync();
            }

            _connecting.Dispose();
        }

        private async Task<ModbusTcpClient> ConnectAsync(CancellationToken cancellationToken)
        {
            await _connecting.WaitAsync(cancellationToken);
            try
            {
                if (_client is not { IsOpen: true })
                {
                    _client = await ModbusTcpClient.ConnectAsync(endpoint.Host, endpoint.Port, options, cancellationToken);
                }

                return _client;
            }
            catch (SocketException ex)
            {
                throw new IOException($"cannot connect to {endpoint}: {ex.Message}", ex);
            }
            finally
            {
                _connecting.Release();
            }
        }

        private async Task DropAsync(ModbusTcpClient client)
        {
            await _connecting.WaitAsync();
            try
            {
                if (ReferenceEquals(_client, client))
                {
                    _client = null;
                }
            }
            finally
            {
                _connecting.Release();
            }

            await client.DisposeAsync();
        }
    }
}
