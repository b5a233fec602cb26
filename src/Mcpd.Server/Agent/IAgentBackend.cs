using System.Security.Claims;
using Mcpd.Client.Mcp;
using Mcpd.Server.Devices;
using Mcpd.Server.Security;

namespace Mcpd.Server.Agent;

/// <summary>
/// What the agent endpoint's tools, resources and prompts act on: the devices of this mcpd with its callers' roles
/// (<see cref="ServedAgentBackend"/>, at <c>/mcp</c>), or one Modbus TCP device reached directly by
/// <c>mcpd agent --device</c> (<see cref="DirectDeviceBackend"/>). The tools themselves are the same for both.
/// </summary>
internal interface IAgentBackend
{
    /// <summary>The devices, by unit, as now configured.</summary>
    IReadOnlyList<AgentDevice> Devices { get; }

    /// <summary>Null when <paramref name="caller"/> may read or write the range (its role, <c>security:roles</c>); else why not.</summary>
    string? Refusal(ClaimsPrincipal? caller, AccessKind access, byte unit, RegisterTable table, int address, int count);

    /// <summary>The audit line (category <c>Mcpd.Audit</c>, event 410) of a write the agent endpoint made for <paramref name="caller"/>.</summary>
    void Written(ClaimsPrincipal? caller, byte unit, RegisterTable table, int address, int count);

    /// <summary>Who <paramref name="caller"/> is, for rate limits and messages; never a token.</summary>
    string NameOf(ClaimsPrincipal? caller);

    /// <summary>Each upstream's kind, address and state; null where there are none to ask (a device reached directly).</summary>
    IReadOnlyList<UpstreamHealth>? Upstreams();

    /// <summary>
    /// Calls an MCP method (our message protocol) for <paramref name="caller"/>, who the caller checked may call it.
    /// Throws <see cref="AgentToolException"/> when there is no MCP server to call.
    /// </summary>
    Task<McpResponse> CallMethodAsync(ClaimsPrincipal? caller, string method, ReadOnlyMemory<byte> body, IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken cancellationToken);

    /// <summary>Null when <paramref name="caller"/>'s role may call <paramref name="method"/>; else why not.</summary>
    string? MethodRefusal(ClaimsPrincipal? caller, string method);
}

/// <summary>
/// A device as the agent sees it: how to reach it (<see cref="Device"/>), what its map says, and which addresses
/// clients may not write (null: not known, as for a device behind a gateway, which answers for itself).
/// </summary>
internal sealed record AgentDevice(byte Unit, string Name, string Kind, IModbusDevice Device, RegisterMap Map, Func<RegisterTable, int, bool>? IsReadOnly)
{
    /// <summary>The upstream of a gateway device, else null.</summary>
    public string? Upstream { get; init; }

    /// <summary>The state of <see cref="Upstream"/> (Up, Degraded, Down), else null.</summary>
    public string? UpstreamState { get; init; }

    /// <summary>Addresses per table (coils, discrete, holding, input) when known.</summary>
    public TableSizes? Tables { get; init; }
}

/// <summary>How many addresses each table of a device has.</summary>
public sealed record TableSizes(int Coils, int Discrete, int Holding, int Input);

/// <summary>One upstream: a link to real devices (docs/gateway.md).</summary>
public sealed record UpstreamHealth(string Name, string? Kind, string? Address, string? State);

/// <summary>
/// A tool call that cannot be done as asked; its message is the tool error the model reads. An
/// <see cref="ModelContextProtocol.McpException"/>, whose message the SDK passes on in the tool's result.
/// </summary>
internal sealed class AgentToolException(string message) : ModelContextProtocol.McpException(message);
