using Mcpd.Server.Security;

namespace Mcpd.Server.Modbus;

/// <summary>
/// The Modbus/TCP Security listener (config <c>modbus:tls</c>; Modbus.org MB-TCP-Security): Modbus over TLS with a
/// client certificate required, whose role extension decides what the client may do (<c>security:roles</c>). It runs
/// beside the plain listener, on a port of its own.
/// </summary>
public sealed class ModbusTlsOptions : TlsOptions
{
    /// <summary>TCP port; 802 is the IANA port of Modbus/TCP Security. Absent: no such listener.</summary>
    public int? Port { get; set; }

    /// <summary>Address to listen on. All interfaces by default: every client must present a certificate the clientCa signed.</summary>
    public string Bind { get; set; } = "*";
}
