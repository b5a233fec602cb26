using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Microsoft.Extensions.Logging;

namespace Mcpd.Client.Internal;

/// <summary>Runs a request handler the one way both sides do: a failure is logged and answered INTERNAL, never left unanswered.</summary>
internal static class HandlerInvoker
{
    /// <summary>The handler's reply; null when it was cancelled because <paramref name="cancellationToken"/> fired (nobody is left to answer).</summary>
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
