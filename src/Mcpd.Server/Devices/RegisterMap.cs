namespace Mcpd.Server.Devices;

/// <summary>The register definitions of one device, looked up by table and starting address.</summary>
public sealed class RegisterMap
{
    private readonly Dictionary<(RegisterTable Table, int Address), RegisterDefinition> _byStart;

    /// <summary>Creates a map; definitions must not overlap (the config validator checks it).</summary>
    public RegisterMap(IEnumerable<RegisterDefinition> definitions)
    {
        Definitions = [.. definitions.OrderBy(d => d.Table).ThenBy(d => d.Address)];
        _byStart = Definitions.ToDictionary(d => (d.Table, d.Address));
    }

    /// <summary>All definitions, ordered by table then address.</summary>
    public IReadOnlyList<RegisterDefinition> Definitions { get; }

    /// <summary>The definition starting at <paramref name="address"/>, if any.</summary>
    public RegisterDefinition? Find(RegisterTable table, int address) => _byStart.GetValueOrDefault((table, address));
}
