using Mcpd.Server.Devices;
using Mcpd.Server.Telemetry;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Security;

/// <summary>
/// The decisions for one connection whose client proved an identity, or was given one by configuration (or was
/// required to prove one and did not: no role): each
/// request is decided by the policy current when it arrives. A refusal is counted and logged (a budget of lines per
/// listener: a client cannot flood the log); an allowed write is written to the audit log, one line per request,
/// category <c>Mcpd.Audit</c> (docs/security.md).
/// </summary>
public sealed partial class ClientAuthorization(ClientIdentity identity, string listener, RolePolicies policies, McpdMetrics metrics, LogThrottle denials, ILogger logger, ILogger audit)
{
    /// <summary>Who the client is (<see cref="ClientIdentity.Anonymous"/> when it proved nothing).</summary>
    public ClientIdentity Identity { get; } = identity;

    /// <summary>True when the client's role allows the Modbus request <paramref name="pdu"/> for <paramref name="unit"/>; a refusal is counted and logged.</summary>
    public bool AllowsModbus(byte unit, ReadOnlySpan<byte> pdu)
    {
        if (!ModbusRequestAccess.IsAllowed(policies.Current, Identity.Role, unit, pdu))
        {
            metrics.RequestDenied(listener);
            if (denials.ShouldLog())
            {
                LogModbusDenied(logger, listener, Identity.Name, Identity.Role ?? "none", unit, pdu.IsEmpty ? (byte)0 : pdu[0]);
            }

            return false;
        }

        // Audited: writes of clients that proved who they are. An anonymous client (anonymousRole) proves nothing, and a
        // line per anonymous write would let any client that reaches the port fill the log.
        if (Identity.Subject is not null && ModbusRequestAccess.TryDescribeWrite(pdu, out var table, out var address, out var count))
        {
            LogWrite(audit, listener, Identity.Name, Identity.Role ?? "none", unit, table, address, count);
        }

        return true;
    }

    /// <summary>True when the client's role has a method rule naming <paramref name="method"/>; a refusal is counted and logged.</summary>
    public bool AllowsMethod(ReadOnlySpan<char> method)
    {
        if (policies.Current.AllowsMethod(Identity.Role, method))
        {
            return true;
        }

        metrics.RequestDenied(listener);
        if (denials.ShouldLog())
        {
            LogMethodDenied(logger, listener, Identity.Name, Identity.Role ?? "none", method.ToString());
        }

        return false;
    }

    /// <summary>Why a request was refused, for the client: names the role and what it lacked, never the rules.</summary>
    public string Refusal(string what) => $"role {Identity.Role ?? "none"} may not {what} (security:roles)";

    [LoggerMessage(EventId = 406, Level = LogLevel.Warning, Message = "{Listener}: refused method {Method} to {Client}, role {Role} (no method rule of security:roles names it)")]
    private static partial void LogMethodDenied(ILogger logger, string listener, string client, string role, string method);

    [LoggerMessage(EventId = 405, Level = LogLevel.Warning, Message = "{Listener}: refused function 0x{Function:X2} on unit {Unit} to {Client}, role {Role} (no rule of security:roles allows it)")]
    private static partial void LogModbusDenied(ILogger logger, string listener, string client, string role, byte unit, byte function);

    [LoggerMessage(EventId = 410, Level = LogLevel.Information, Message = "{Listener}: {Client} (role {Role}) writes unit {Unit}, {Table} {Address} x{Count}")]
    private static partial void LogWrite(ILogger logger, string listener, string client, string role, byte unit, RegisterTable table, int address, int count);
}
