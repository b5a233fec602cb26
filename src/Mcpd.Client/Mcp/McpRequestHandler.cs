namespace Mcpd.Client.Mcp;

/// <summary>
/// Answers a request of the peer. <paramref name="cancellationToken"/> is cancelled when the connection ends. An
/// exception is answered INTERNAL (and logged), never left unanswered.
/// </summary>
public delegate ValueTask<McpReply> McpRequestHandler(McpIncomingRequest request, CancellationToken cancellationToken);
