namespace Mcpd.Server.Gateway;

/// <summary>
/// Builds the upstreams of one kind (<see cref="UpstreamOptions.Kind"/>). <see cref="UpstreamRegistry"/> picks the
/// factory whose <see cref="Kind"/> an entry of <c>upstreams</c> names; a new kind is a new factory registered in
/// the container (docs/architecture.md, "Extending mcpd").
/// </summary>
public interface IModbusUpstreamFactory
{
    /// <summary>The value of <see cref="UpstreamOptions.Kind"/> this factory serves (compared ignoring case).</summary>
    string Kind { get; }

    /// <summary>Builds the upstream <paramref name="name"/>; its options passed validation.</summary>
    IModbusUpstream Create(string name, UpstreamOptions options);
}
