using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;

namespace Mcpd.Server.Telemetry;

/// <summary>
/// The last Modbus requests answered, for the dashboard's request log (docs/dashboard.md). It costs the Modbus path
/// one volatile read while nobody watches (<see cref="IsWatched"/> false): nothing is recorded. While someone does, a
/// request is recorded when the budget that the reader grants per tick (<see cref="Grant"/>) is not spent, so under
/// load the log is a sample and a request costs at most an interlocked increment and a copy of its first bytes into a
/// ring of <see cref="Capacity"/> slots. Slots are written without a lock: a slot's sequence number is cleared before
/// and published after its fields, and a reader keeps a copy only when the number is the same before and after.
/// </summary>
public sealed class ModbusRequestLog
{
    /// <summary>Slots in the ring (a power of two); a reader that falls this far behind loses the oldest.</summary>
    public const int Capacity = 1024;

    /// <summary>Bytes kept of a request PDU and of its response PDU: function, addresses, quantities and the first values.</summary>
    public const int KeptBytes = 16;

    private readonly Slot[] _slots = new Slot[Capacity];
    private volatile bool _watched;
    private long _next;
    private long _allowed;

    public ModbusRequestLog()
    {
        foreach (ref var slot in _slots.AsSpan())
        {
            slot.Sequence = -1;
        }
    }

    /// <summary>True while someone reads the log; the connections record nothing otherwise.</summary>
    public bool IsWatched => _watched;

    /// <summary>The sequence number the next recorded request will take.</summary>
    public long Next => Volatile.Read(ref _next);

    /// <summary>Starts or stops recording.</summary>
    public void Watch(bool watched) => _watched = watched;

    /// <summary>Lets the connections record up to <paramref name="requests"/> more requests from now on.</summary>
    public void Grant(int requests) => Volatile.Write(ref _allowed, Volatile.Read(ref _next) + requests);

    /// <summary>
    /// Records a request of <paramref name="connectionId"/> to <paramref name="unit"/> answered with
    /// <paramref name="responsePdu"/> (empty: no answer), started at <paramref name="startTimestamp"/> and answered at <paramref name="endTimestamp"/>; call only when
    /// <see cref="IsWatched"/>. Beyond the granted budget the request is left out.
    /// </summary>
    public void Record(string connectionId, EndPoint? remote, byte unit, ReadOnlySpan<byte> requestPdu, ReadOnlySpan<byte> responsePdu, long startTimestamp, long endTimestamp)
    {
        if (Volatile.Read(ref _next) >= Volatile.Read(ref _allowed))
        {
            return;
        }

        var sequence = Interlocked.Increment(ref _next) - 1;
        ref var slot = ref _slots[sequence & (Capacity - 1)];
        Volatile.Write(ref slot.Sequence, -1);
        slot.Started = startTimestamp;
        slot.Ended = endTimestamp;
        slot.ConnectionId = connectionId;
        slot.Remote = remote;
        slot.Unit = unit;
        slot.RequestLength = (byte)Math.Min(requestPdu.Length, byte.MaxValue);
        slot.ResponseLength = (byte)Math.Min(responsePdu.Length, byte.MaxValue);
        requestPdu[..Math.Min(requestPdu.Length, KeptBytes)].CopyTo(slot.Request);
        responsePdu[..Math.Min(responsePdu.Length, KeptBytes)].CopyTo(slot.Response);
        Volatile.Write(ref slot.Sequence, sequence);
    }

    /// <summary>
    /// Copies the requests recorded from sequence <paramref name="from"/> up to <see cref="Next"/> into
    /// <paramref name="into"/> (the ones overwritten or still being written are skipped); returns where to go on from.
    /// </summary>
    public long ReadFrom(long from, List<ModbusRequestRecord> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        var end = Next;
        for (var sequence = Math.Max(from, end - Capacity); sequence < end; sequence++)
        {
            ref var slot = ref _slots[sequence & (Capacity - 1)];
            if (Volatile.Read(ref slot.Sequence) != sequence)
            {
                continue;
            }

            var copy = new ModbusRequestRecord(
                slot.Started, slot.Ended, slot.ConnectionId, slot.Remote, slot.Unit,
                ((ReadOnlySpan<byte>)slot.Request)[..Math.Min((int)slot.RequestLength, KeptBytes)].ToArray(), slot.RequestLength,
                ((ReadOnlySpan<byte>)slot.Response)[..Math.Min((int)slot.ResponseLength, KeptBytes)].ToArray(), slot.ResponseLength);
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref slot.Sequence) == sequence)
            {
                into.Add(copy);
            }
        }

        return end;
    }

    [InlineArray(KeptBytes)]
    private struct PduHead
    {
        private byte _first;
    }

    private struct Slot
    {
        public long Sequence;
        public long Started;
        public long Ended;
        public string? ConnectionId;
        public EndPoint? Remote;
        public byte Unit;
        public byte RequestLength;
        public byte ResponseLength;
        public PduHead Request;
        public PduHead Response;
    }
}

/// <summary>
/// One request of the <see cref="ModbusRequestLog"/>: <see cref="Stopwatch"/> timestamps of its start and answer, the
/// client, the unit, and the first <see cref="ModbusRequestLog.KeptBytes"/> bytes of each PDU with its whole length.
/// </summary>
public sealed record ModbusRequestRecord(
    long Started, long Ended, string? ConnectionId, EndPoint? Remote, byte Unit,
    byte[] Request, int RequestLength, byte[] Response, int ResponseLength);
