using System.Text;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Client.Mcp;

/// <summary>The answer to a call: status, headers and body (for an error status, the JSON error body).</summary>
/// <param name="Id">The request id it answers.</param>
/// <param name="Status">The status.</param>
/// <param name="Headers">The response headers.</param>
/// <param name="Body">The body.</param>
public sealed record McpResponse(uint Id, McpStatus Status, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    /// <summary>The body as UTF-8 text.</summary>
    public string BodyText => Encoding.UTF8.GetString(Body);
}
