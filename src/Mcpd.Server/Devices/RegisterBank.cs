namespace Mcpd.Server.Devices;

/// <summary>
/// The four tables of one device. Invariant: every access goes through <see cref="Sync"/>, so a multi-register
/// write (FC0F, FC10, FC17) is atomic for every reader. Clients write the coils and holding registers; the device
/// makes its own values (the map's initial values, generators) in any table.
/// </summary>
public sealed class RegisterBank
{
    /// <summary>Creates tables of the given sizes (each 0..65536), all zero.</summary>
    public RegisterBank(int coils, int discreteInputs, int holdingRegisters, int inputRegisters)
    {
        Coils = new bool[coils];
        DiscreteInputs = new bool[discreteInputs];
        HoldingRegisters = new ushort[holdingRegisters];
        InputRegisters = new ushort[inputRegisters];
    }

    /// <summary>Guards all four tables.</summary>
    internal Lock Sync { get; } = new();

    internal bool[] Coils { get; }

    internal bool[] DiscreteInputs { get; }

    internal ushort[] HoldingRegisters { get; }

    internal ushort[] InputRegisters { get; }

    /// <summary>
    /// How many client requests that may change the device ran so far: Modbus functions with side effects that were
    /// not refused, <see cref="WriteRegisters"/> and <see cref="WriteBits"/>. Read and bumped only under
    /// <see cref="Sync"/>. The device's own values (initial values, generators) do not count: the map makes them again
    /// at start. Invariant: a copy taken at the same count holds the same client-written values; a count that moved
    /// may mean no change (FC08, a write of the value already there), which costs one needless snapshot.
    /// </summary>
    internal long ClientWrites { get; private set; }

    /// <summary>Number of addresses in <paramref name="table"/>.</summary>
    public int SizeOf(RegisterTable table) => table switch
    {
        RegisterTable.Coils => Coils.Length,
        RegisterTable.Discrete => DiscreteInputs.Length,
        RegisterTable.Holding => HoldingRegisters.Length,
        _ => InputRegisters.Length,
    };

    /// <summary>Copies registers of a register table (holding or input) atomically.</summary>
    public void ReadRegisters(RegisterTable table, int address, Span<ushort> destination)
    {
        lock (Sync)
        {
            RegistersOf(table).AsSpan(address, destination.Length).CopyTo(destination);
        }
    }

    /// <summary>Writes registers of a register table (holding or input) atomically, as a client (counted in <see cref="ClientWrites"/>).</summary>
    public void WriteRegisters(RegisterTable table, int address, ReadOnlySpan<ushort> values)
    {
        lock (Sync)
        {
            WriteOwnRegisters(table, address, values);
            CountClientWrite();
        }
    }

    /// <summary>Copies bits of a bit table (coils or discrete inputs) atomically.</summary>
    public void ReadBits(RegisterTable table, int address, Span<bool> destination)
    {
        lock (Sync)
        {
            BitsOf(table).AsSpan(address, destination.Length).CopyTo(destination);
        }
    }

    /// <summary>Writes bits of a bit table (coils or discrete inputs) atomically, as a client (counted in <see cref="ClientWrites"/>).</summary>
    public void WriteBits(RegisterTable table, int address, ReadOnlySpan<bool> values)
    {
        lock (Sync)
        {
            WriteOwnBits(table, address, values);
            CountClientWrite();
        }
    }

    /// <summary>Writes the device's own values (initial values, generators) into a register table: not a client write.</summary>
    internal void WriteOwnRegisters(RegisterTable table, int address, ReadOnlySpan<ushort> values)
    {
        lock (Sync)
        {
            values.CopyTo(RegistersOf(table).AsSpan(address));
        }
    }

    /// <summary>Writes the device's own values (initial values, generators) into a bit table: not a client write.</summary>
    internal void WriteOwnBits(RegisterTable table, int address, ReadOnlySpan<bool> values)
    {
        lock (Sync)
        {
            values.CopyTo(BitsOf(table).AsSpan(address));
        }
    }

    /// <summary>Counts a client request that may have changed the device; the caller holds <see cref="Sync"/>.</summary>
    internal void CountClientWrite() => ClientWrites++;

    /// <summary>
    /// Copies the client-writable tables (coils, holding registers) atomically, with the <see cref="ClientWrites"/>
    /// count they match; the destinations are the tables' sizes.
    /// </summary>
    internal long CopyClientTables(Span<bool> coils, Span<ushort> holdingRegisters)
    {
        lock (Sync)
        {
            Coils.CopyTo(coils);
            HoldingRegisters.CopyTo(holdingRegisters);
            return ClientWrites;
        }
    }

    /// <summary>
    /// Writes saved coils and holding registers, each from address 0, over the current values atomically, as far as
    /// the tables reach; returns how many saved values lie beyond them. Not a client write: they are already saved.
    /// </summary>
    internal int RestoreClientTables(ReadOnlySpan<bool> coils, ReadOnlySpan<ushort> holdingRegisters)
    {
        var coilCount = Math.Min(coils.Length, Coils.Length);
        var registerCount = Math.Min(holdingRegisters.Length, HoldingRegisters.Length);
        lock (Sync)
        {
            coils[..coilCount].CopyTo(Coils);
            holdingRegisters[..registerCount].CopyTo(HoldingRegisters);
        }

        return coils.Length - coilCount + holdingRegisters.Length - registerCount;
    }

    private ushort[] RegistersOf(RegisterTable table) => table switch
    {
        RegisterTable.Holding => HoldingRegisters,
        RegisterTable.Input => InputRegisters,
        _ => throw new ArgumentOutOfRangeException(nameof(table), table, "Not a register table."),
    };

    private bool[] BitsOf(RegisterTable table) => table switch
    {
        RegisterTable.Coils => Coils,
        RegisterTable.Discrete => DiscreteInputs,
        _ => throw new ArgumentOutOfRangeException(nameof(table), table, "Not a bit table."),
    };
}
