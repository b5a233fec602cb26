namespace Mcpd.Server.Devices;

/// <summary>
/// The four tables of one device. Invariant: every access goes through <see cref="Sync"/>, so a multi-register
/// write (FC0F, FC10, FC17) is atomic for every reader.
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

    /// <summary>Writes registers of a register table (holding or input) atomically.</summary>
    public void WriteRegisters(RegisterTable table, int address, ReadOnlySpan<ushort> values)
    {
        lock (Sync)
        {
            values.CopyTo(RegistersOf(table).AsSpan(address));
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

    /// <summary>Writes bits of a bit table (coils or discrete inputs) atomically.</summary>
    public void WriteBits(RegisterTable table, int address, ReadOnlySpan<bool> values)
    {
        lock (Sync)
        {
            values.CopyTo(BitsOf(table).AsSpan(address));
        }
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
