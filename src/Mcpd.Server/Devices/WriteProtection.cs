using Mcpd.Protocols.Modbus;

namespace Mcpd.Server.Devices;

/// <summary>
/// The read-only addresses of a device's writable tables (coils and holding registers), one bit per address, so a
/// write request is checked in a few word operations and without allocating. Only client writes are checked: the
/// device itself (initial values, generators) writes through <see cref="RegisterBank"/> directly.
/// </summary>
internal sealed class WriteProtection
{
    private readonly ulong[]? _coils;
    private readonly ulong[]? _holding;

    /// <summary>Builds the bitmaps of <paramref name="options"/> (validated: ranges inside their tables).</summary>
    public WriteProtection(DeviceOptions options)
    {
        Exception = options.ReadOnlyException;
        var ranges = options.ReadOnly.Select(r => (r.Table, r.Address, r.Count))
            .Concat(options.Registers.Where(r => r.ReadOnly).Select(r => (r.Table, r.Address, RegisterDefinition.From(r).Count)));
        foreach (var (table, address, count) in ranges)
        {
            var bitmap = table switch
            {
                RegisterTable.Coils => _coils ??= new ulong[WordsFor(options.Coils)],
                RegisterTable.Holding => _holding ??= new ulong[WordsFor(options.HoldingRegisters)],
                // Discrete inputs and input registers have no write function (Application Protocol 4.3).
                _ => null,
            };
            for (var a = address; bitmap is not null && a < address + count; a++)
            {
                bitmap[a >> 6] |= 1UL << (a & 63);
            }
        }
    }

    /// <summary>What a write to a read-only address answers.</summary>
    public ModbusExceptionCode Exception { get; }

    /// <summary>True when any coil in <paramref name="address"/> .. + <paramref name="count"/> - 1 is read-only.</summary>
    public bool CoilsProtected(int address, int count) => Touches(_coils, address, count);

    /// <summary>True when any holding register in <paramref name="address"/> .. + <paramref name="count"/> - 1 is read-only.</summary>
    public bool HoldingProtected(int address, int count) => Touches(_holding, address, count);

    /// <summary>True when a client may not write <paramref name="address"/> of <paramref name="table"/>: a protected coil or holding register, or any address of the read-only tables.</summary>
    public bool IsReadOnly(RegisterTable table, int address) => table switch
    {
        RegisterTable.Coils => CoilsProtected(address, 1),
        RegisterTable.Holding => HoldingProtected(address, 1),
        _ => true,
    };

    private static int WordsFor(int addresses) => (addresses + 63) >> 6;

    /// <summary>Tests the range word by word; the caller has checked that it lies inside the table.</summary>
    private static bool Touches(ulong[]? bitmap, int address, int count)
    {
        if (bitmap is null)
        {
            return false;
        }

        var end = address + count; // exclusive
        for (var word = address >> 6; word <= (end - 1) >> 6; word++)
        {
            var first = word == address >> 6 ? address & 63 : 0;
            var last = word == (end - 1) >> 6 ? (end - 1) & 63 : 63;
            var mask = (ulong.MaxValue >> (63 - last)) & (ulong.MaxValue << first);
            if ((bitmap[word] & mask) != 0)
            {
                return true;
            }
        }

        return false;
    }
}
