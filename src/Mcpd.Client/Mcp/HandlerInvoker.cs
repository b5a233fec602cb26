using Mcpd.Protocols.Mcp;
using Microsoft.Extensions.Logging;

namespace Mcpd.Client.Mcp;

/// <summary>
/// Runs an <see cref="McpRequestHandler"/> the one way both sides do (the client for requests of its server; the
/// server for its methods, lanes included): a failure is logged and answered INTERNAL, never left unanswered.
/// </summary>
public static class HandlerInvoker
{
    /// <summary>The handler's reply; null when it was cancelled because <paramref name="cancellationToken"/> fired (nobody is left to answer).</summary>
    /// <param name="handler">The handler.</param>
    /// <param name="request">The request it answers.</param>
    /// <param name="logger">Where a failure of the handler is logged (event 503).</param>
    /// <param name="cancellationToken">Cancelled when the connection ends.</param>
    public static async ValueTask<McpReply?> InvokeAsync(McpRequestHandler handler, McpIncomingRequest request, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            return await handler(request, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception ex)
        {
            McpClientLog.HandlerFailed(logger, ex, request.Method, request.TraceId);
            return McpReply.Error(McpStatus.Internal, $"the handler of '{request.Method}' failed");
        }
    }
}
