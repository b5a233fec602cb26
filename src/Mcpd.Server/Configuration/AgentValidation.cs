using Mcpd.Server.Routing;

namespace Mcpd.Server.Configuration;

/// <summary>The meaning of <c>agent</c> (part of <see cref="McpdOptionsValidator"/>).</summary>
internal static class AgentValidation
{
    public static void Check(McpdOptions options, List<string> problems)
    {
        var agent = options.Agent;
        if (agent.MaxToolCalls < 1)
        {
            problems.Add($"agent:maxToolCalls: {agent.MaxToolCalls} must be at least 1");
        }

        if (agent.ToolCallWindow <= TimeSpan.Zero)
        {
            problems.Add($"agent:toolCallWindow: {agent.ToolCallWindow} must be positive");
        }

        if (agent.SubscriptionInterval < TimeSpan.FromMilliseconds(100))
        {
            problems.Add($"agent:subscriptionInterval: {agent.SubscriptionInterval} is below 100 ms; each subscription reads its device that often");
        }

        if (agent.MaxSubscriptions < 0)
        {
            problems.Add($"agent:maxSubscriptions: {agent.MaxSubscriptions} must not be negative");
        }

        for (var i = 0; i < agent.Methods.Count; i++)
        {
            if (string.Equals(agent.Methods[i], BuiltInMethods.ModbusPdu, StringComparison.Ordinal))
            {
                problems.Add($"agent:methods:{i}: {BuiltInMethods.ModbusPdu} is not callable by agents: registers are read and written with read_registers and write_register, which check the map, the role and agent:allowWrites");
            }
            else if (string.IsNullOrWhiteSpace(agent.Methods[i]))
            {
                problems.Add($"agent:methods:{i}: a method name is required");
            }
        }
    }
}
