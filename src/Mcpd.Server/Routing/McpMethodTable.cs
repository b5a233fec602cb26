using System.Collections.Concurrent;
using Mcpd.Client.Mcp;

namespace Mcpd.Server.Routing;

/// <summary>
/// The MCP methods this node serves from code, by name (in the spirit of ASP.NET minimal APIs:
/// <c>app.MapMethod("telemetry.report", handler)</c>). Lookups by the span of a method name allocate nothing.
/// The built-in methods (<c>sys.*</c>, <c>modbus.pdu</c>) are mcpd's own and cannot be mapped.
/// </summary>
public sealed class McpMethodTable
{
    private readonly ConcurrentDictionary<string, McpRequestHandler> _handlers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, McpRequestHandler>.AlternateLookup<ReadOnlySpan<char>> _bySpan;

    /// <summary>A table with the methods registered through <c>AddMcpMethod</c>.</summary>
    public McpMethodTable(IEnumerable<McpMethodRegistration> registrations)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        _bySpan = _handlers.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var registration in registrations)
        {
            Map(registration.Method, registration.Handler);
        }
    }

    /// <summary>Serves <paramref name="method"/> with <paramref name="handler"/>, replacing an earlier mapping.</summary>
    public void Map(string method, McpRequestHandler handler)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(handler);
        if (BuiltInMethods.IsBuiltIn(method))
        {
            throw new ArgumentException($"'{method}' is a built-in method of mcpd.", nameof(method));
        }

        _handlers[method] = handler;
    }

    /// <summary>The handler of <paramref name="method"/>, if it is mapped.</summary>
    public bool TryGet(ReadOnlySpan<char> method, out McpRequestHandler handler) => _bySpan.TryGetValue(method, out handler!);
}

/// <summary>A method mapped in DI before the host is built (<c>services.AddMcpMethod</c>).</summary>
/// <param name="Method">The method name.</param>
/// <param name="Handler">Its handler.</param>
public sealed record McpMethodRegistration(string Method, McpRequestHandler Handler);
