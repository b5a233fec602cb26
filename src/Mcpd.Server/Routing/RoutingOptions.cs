namespace Mcpd.Server.Routing;

/// <summary>
/// How MCP requests are routed (config section <c>routing</c>, docs/routing.md): rules in order, first match wins; requests
/// no rule matches are served by a built-in or mapped method, else by <see cref="Default"/>, else NOT_FOUND.
/// </summary>
public sealed class RoutingOptions
{
    /// <summary>Bounded queues with their own workers, by name; a rule's target <c>lane:NAME</c> sends requests there.</summary>
    public IDictionary<string, LaneOptions> Lanes { get; init; } = new Dictionary<string, LaneOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The rules, evaluated in order.</summary>
    public IList<RouteRuleOptions> Rules { get; init; } = [];

    /// <summary>
    /// Longest pause before reading on from a connection whose requests are refused OVERLOADED (doubling from 1 ms
    /// while refusals go on, gone at the first request served); zero turns the backoff off.
    /// </summary>
    public TimeSpan OverloadBackoff { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Target of requests that match no rule and no method of this node (<c>lane:</c>, <c>device:</c> or <c>forward:</c>); null: NOT_FOUND.</summary>
    public string? Default { get; set; }
}

/// <summary>A lane (an entry of <c>routing:lanes</c>).</summary>
public sealed class LaneOptions
{
    /// <summary>Requests of the lane that run at the same time.</summary>
    public int Workers { get; set; } = 1;

    /// <summary>Requests that may wait; when the lane is full a request is answered OVERLOADED at once.</summary>
    public int Capacity { get; set; } = 1000;
}

/// <summary>A routing rule (an entry of <c>routing:rules</c>).</summary>
public sealed class RouteRuleOptions
{
    /// <summary>A glob on the method (<c>*</c> any run of characters, <c>?</c> one); null: any method.</summary>
    public string? Method { get; set; }

    /// <summary>Header conditions, all of which must hold: the value is a glob (without wildcards: equals); <c>"*"</c>: the header exists.</summary>
    public IDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary><c>lane:NAME</c>, <c>device:NAME</c> or <c>forward:NODE</c>.</summary>
    public string Target { get; set; } = "";
}
