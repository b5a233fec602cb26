using Mcpd.Server.Connections;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Agent;

/// <summary>
/// At most <c>agent.maxToolCalls</c> tool calls per caller (a token's name, a certificate's subject) per
/// <c>agent.toolCallWindow</c>, in fixed windows that start with the caller's first call: an assistant in a loop
/// cannot keep a device or a gateway busy. A refused call is a tool error that says when to retry.
/// </summary>
internal sealed class AgentToolCallLimiter(IOptionsMonitor<AgentOptions> options, TimeProvider time)
{
    private readonly Lock _sync = new();
    private readonly FixedWindowCounts<string> _calls = new(time);

    /// <summary>Counts a call of <paramref name="caller"/>; null when it had room, else why not (and nothing counted).</summary>
    public string? TryTake(string caller)
    {
        var settings = options.CurrentValue;
        lock (_sync)
        {
            var (count, left) = _calls.Peek(caller, settings.ToolCallWindow);
            if (count >= settings.MaxToolCalls)
            {
                return $"{caller} made {count} tool calls in this window; agent.maxToolCalls is {settings.MaxToolCalls} per {settings.ToolCallWindow}: retry in {Math.Ceiling(left.TotalSeconds):0} s";
            }

            _calls.Add(caller, settings.ToolCallWindow);
            return null;
        }
    }
}
