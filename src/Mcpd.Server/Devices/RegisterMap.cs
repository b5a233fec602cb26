using Mcpd.Protocols.Modbus;

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

    /// <summary>
    /// The map of <paramref name="registers"/> (validated: no overlaps) after a reload: <paramref name="previous"/>
    /// itself when it defines exactly those entries, else a new map that shares every definition that did not
    /// change. A reload that changes only initial values (a map of 65,536 entries rewritten by a tool) then builds
    /// and keeps nothing new for the map, where a new map cost a sort, an index and 65,536 objects for the collector
    /// to promote.
    /// </summary>
    public static RegisterMap Reusing(RegisterMap? previous, ICollection<RegisterOptions> registers)
    {
        ArgumentNullException.ThrowIfNull(registers);
        var definitions = new List<RegisterDefinition>(registers.Count);
        var unchanged = previous is not null && previous.Definitions.Count == registers.Count;
        foreach (var register in registers)
        {
            var definition = RegisterDefinition.From(register);
            if (previous?.Find(definition.Table, definition.Address) is { } known && known == definition)
            {
                definition = known;
            }
            else
            {
                unchanged = false;
            }

            definitions.Add(definition);
        }

        // Same count, each entry found unchanged, starts unique on both sides: the same set of definitions.
        return unchanged ? previous! : new RegisterMap(definitions);
    }

    /// <summary>
    /// True when the map has an entry at <paramref name="register"/>'s table and address with its layout (data type,
    /// word order, string length): the same register across a reload, whose live value a reload keeps.
    /// </summary>
    public bool HasSameLayout(RegisterOptions register)
    {
        ArgumentNullException.ThrowIfNull(register);
        return Find(register.Table, register.Address) is { } known
            && known.Format == new RegisterFormat(register.Type, register.WordOrder, register.Length);
    }
}
