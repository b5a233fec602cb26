using System.Security.Claims;
using Mcpd.Client.Mcp;
using Mcpd.Server.Admin;
using Mcpd.Server.Connections;
using Mcpd.Server.Devices;
using Mcpd.Server.Gateway;
using Mcpd.Server.Mcp;
using Mcpd.Server.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Agent;

/// <summary>
/// The devices of this mcpd for the agent endpoint at <c>/mcp</c>: callers are the admin API's (a token or a client
/// certificate, with its role), decided and audited by <see cref="AdminAccess"/>; <c>call_method</c> goes to this
/// node's plain MCP listener through <see cref="McpClient"/>, as any MCP client's request would.
/// </summary>
internal sealed class ServedAgentBackend(
    IOptions<DevicesOptions> devices,
    DeviceRegistry registry,
    UpstreamRegistry upstreams,
    AdminAccess access,
    RolePolicies roles,
    ListenerEndpoints listeners,
    IOptions<McpServerOptions> mcp,
    ILoggerFactory loggers) : IAgentBackend, IAsyncDisposable
{
    /// <summary>The listener name of the agent endpoint's audit lines.</summary>
    public const string Listener = "agent";

    private const string NoCaller = "the request has no authenticated caller";

    private readonly SemaphoreSlim _connecting = new(1, 1);
    private McpClient? _client;

    public IReadOnlyList<AgentDevice> Devices =>
        [.. devices.Value.Effective.Select(options => registry.Resolve((byte)options.Unit) is { } device ? Describe(options, device) : null).OfType<AgentDevice>()];

    /// <summary>A request at <c>/mcp</c> always has its admin API caller; without one nothing is allowed.</summary>
    public string? Refusal(ClaimsPrincipal? caller, AccessKind kind, byte unit, RegisterTable table, int address, int count) =>
        caller is null ? NoCaller : access.Refusal(caller, kind, unit, table, address, count);

    public void Written(ClaimsPrincipal? caller, byte unit, RegisterTable table, int address, int count) =>
        access.Written(caller ?? new ClaimsPrincipal(), unit, table, address, count, Listener);

    public string NameOf(ClaimsPrincipal? caller) => caller is null ? "nobody" : AdminCaller.IdentityOf(caller).Name;

    public IReadOnlyList<UpstreamHealth>? Upstreams() =>
        [.. upstreams.All.Select(u => new UpstreamHealth(u.Name, u.Kind, u.Address, u.State.ToString()))];

    public string? MethodRefusal(ClaimsPrincipal? caller, string method)
    {
        if (caller is null)
        {
            return NoCaller;
        }

        if (AdminCaller.IsUnrestricted(caller))
        {
            return null;
        }

        var identity = AdminCaller.IdentityOf(caller);
        return roles.Current.AllowsMethod(identity.Role, method) ? null : $"{identity} may not call {method} (security:roles)";
    }

    public async Task<McpResponse> CallMethodAsync(ClaimsPrincipal? caller, string method, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken cancellationToken)
    {
        var client = await ClientAsync(cancellationToken);
        return await client.CallAsync(method, body, headers, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        _connecting.Dispose();
    }

    private static AgentDevice Describe(DeviceOptions options, IModbusDevice device)
    {
        var tables = new TableSizes(options.Coils, options.DiscreteInputs, options.HoldingRegisters, options.InputRegisters);
        return device switch
        {
            SimulatedDevice simulated => new AgentDevice((byte)options.Unit, simulated.Name, "simulated", simulated, simulated.Map, simulated.IsReadOnly) { Tables = tables },
            GatewayDevice gateway => new AgentDevice((byte)options.Unit, gateway.Name, "gateway", gateway, new RegisterMap(options.Registers.Select(RegisterDefinition.From)), IsReadOnly: null)
            {
                Upstream = gateway.Upstream.Name,
                UpstreamState = gateway.Upstream.State.ToString(),
            },
            _ => new AgentDevice((byte)options.Unit, options.Name ?? $"unit {options.Unit}", "code", device, new RegisterMap([]), IsReadOnly: null),
        };
    }

    /// <summary>One client of this node's plain MCP listener, made at the first call (it reconnects by itself).</summary>
    private async Task<McpClient> ClientAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _client) is { } client)
        {
            return client;
        }

        await _connecting.WaitAsync(cancellationToken);
        try
        {
            if (_client is null)
            {
                if (mcp.Value.Tls.IsEnabled)
                {
                    throw new AgentToolException("this mcpd's MCP listener takes TLS clients only (mcp.tls); call_method is not available");
                }

                var endpoint = listeners.All.FirstOrDefault(l => l.Key == ListenerNames.Mcp).Value as System.Net.IPEndPoint
                    ?? throw new AgentToolException("this mcpd has no plain MCP listener (mcp.port) for call_method to call");
                var host = endpoint.Address.Equals(System.Net.IPAddress.Any) ? "127.0.0.1"
                    : endpoint.Address.Equals(System.Net.IPAddress.IPv6Any) ? "::1"
                    : endpoint.Address.ToString();
                var options = new McpClientOptions { Logger = loggers.CreateLogger(AgentLog.Category) };
                _client = await McpClient.ConnectAsync(host, endpoint.Port, options, cancellationToken);
            }

            return _client;
        }
        finally
        {
            _connecting.Release();
        }
    }
}
