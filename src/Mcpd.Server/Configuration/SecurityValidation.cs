using Mcpd.Server.Security;

namespace Mcpd.Server.Configuration;

/// <summary>
/// The meaning of <c>security</c>, <c>modbus:tls</c>, <c>mcp:tls</c>, <c>admin:tls</c> and the anonymous roles (part of
/// <see cref="McpdOptionsValidator"/>); whether the TLS files can be used is found when they are read, at start.
/// </summary>
internal static class SecurityValidation
{
    public static void Check(McpdOptions options, List<string> problems)
    {
        problems.AddRange(RolePolicy.Problems(options.Security));
        CheckRole("modbus:anonymousRole", options.Modbus.AnonymousRole, options.Security, problems);
        CheckRole("mcp:anonymousRole", options.Mcp.AnonymousRole, options.Security, problems);

        var modbus = options.Modbus.Tls;
        if (modbus.Port is { } port)
        {
            if (port is < 0 or > 65535)
            {
                problems.Add($"modbus:tls:port: {port} is outside 0..65535");
            }

            if (!McpdOptionsValidator.TryParseBind(modbus.Bind, out _))
            {
                problems.Add($"modbus:tls:bind: '{modbus.Bind}' is not \"*\", \"localhost\" or an IP address");
            }

            if (!modbus.IsEnabled)
            {
                problems.Add("modbus:tls:certificate: the Modbus/TCP Security listener (modbus:tls:port) needs the server's certificate and key (PEM files; `mcpd cert` makes them for a try)");
            }

            if (modbus.ClientCa is null)
            {
                problems.Add("modbus:tls:clientCa: the Modbus/TCP Security listener requires client certificates: name the CA bundle they must chain to");
            }

            if (options.Security.Roles.Count == 0)
            {
                problems.Add("security:roles: the Modbus/TCP Security listener (modbus:tls:port) allows a client only what its role's rules allow, and no role is configured: every request would be refused");
            }
        }

        Check("modbus:tls", modbus, problems);
        Check("mcp:tls", options.Mcp.Tls, problems);
        Check("admin:tls", options.Admin.Tls, problems);
    }

    private static void CheckRole(string path, string? role, SecurityOptions security, List<string> problems)
    {
        if (role is not null && !security.Roles.ContainsKey(role))
        {
            problems.Add($"{path}: '{role}' is not a role of security:roles ({(security.Roles.Count == 0 ? "none is configured" : string.Join(", ", security.Roles.Keys))})");
        }
    }

    private static void Check(string path, TlsOptions tls, List<string> problems)
    {
        if (tls.IsEnabled != !string.IsNullOrEmpty(tls.Key))
        {
            problems.Add(tls.IsEnabled ? $"{path}:key: the certificate needs its private key (a PEM file)" : $"{path}:certificate: a key is set without its certificate");
        }

        if (tls.ClientCa is not null && !tls.IsEnabled)
        {
            problems.Add($"{path}:clientCa: client certificates are asked for in a TLS handshake; set {path}:certificate and {path}:key too");
        }

        if (tls.HandshakeTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{path}:handshakeTimeout: {tls.HandshakeTimeout} must be positive");
        }

        if (tls.MaxConcurrentHandshakes < 1)
        {
            problems.Add($"{path}:maxConcurrentHandshakes: {tls.MaxConcurrentHandshakes} must be at least 1");
        }
    }
}
