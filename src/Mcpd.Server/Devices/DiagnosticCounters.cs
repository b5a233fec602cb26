namespace Mcpd.Server.Devices;

/// <summary>
/// Serial-line diagnostics of one device (Modbus Application Protocol V1.1b3, 6.8 to 6.10), kept so that
/// FC08, FC0B and FC0C answer from real data. Invariant: mutated only under the owning bank's lock.
/// Counters wrap at 16 bits as the spec's counters do.
/// </summary>
internal sealed class DiagnosticCounters
{
    /// <summary>The spec keeps the 64 most recent events (6.10).</summary>
    public const int EventLogCapacity = 64;

    /// <summary>6.10 receive event: bit 7 set; no error, overrun, listen-only or broadcast bits on TCP.</summary>
    private const byte ReceiveEvent = 0x80;

    /// <summary>6.10 send event: bit 6 set; bit 0 read exception (codes 1-3), bit 1 abort (4), bit 2 busy (5-6), bit 3 NAK (7).</summary>
    private const byte SendEvent = 0x40;

    /// <summary>6.10 event written by Restart Communications Option (08/01).</summary>
    private const byte CommunicationRestartEvent = 0x00;

    private readonly byte[] _events = new byte[EventLogCapacity];
    private int _eventHead;

    public ushort BusMessages { get; private set; }

    public ushort BusExceptions { get; private set; }

    public ushort ServerMessages { get; private set; }

    /// <summary>6.9: successful completions, excluding exceptions and the FC0B/FC0C polls themselves.</summary>
    public ushort EventCounter { get; private set; }

    public int EventCount { get; private set; }

    public void RecordRequest()
    {
        BusMessages++;
        ServerMessages++;
        AddEvent(ReceiveEvent);
    }

    /// <summary>Records the response that was sent; <paramref name="exception"/> is 0 for a normal response.</summary>
    public void RecordResponse(byte function, byte exception)
    {
        if (exception != 0)
        {
            BusExceptions++;
            AddEvent((byte)(SendEvent | exception switch
            {
                <= 3 => 0x01,
                4 => 0x02,
                5 or 6 => 0x04,
                _ => 0x08,
            }));
            return;
        }

        if (function is not ((byte)Protocols.Modbus.ModbusFunctionCode.GetCommEventCounter or (byte)Protocols.Modbus.ModbusFunctionCode.GetCommEventLog))
        {
            EventCounter++;
        }

        AddEvent(SendEvent);
    }

    /// <summary>08/0A and 08/01: counters to zero; 08/01 with 0xFF00 also clears the event log.</summary>
    public void Clear(bool clearEventLog)
    {
        BusMessages = BusExceptions = ServerMessages = EventCounter = 0;
        if (clearEventLog)
        {
            EventCount = 0;
        }
    }

    public void RecordCommunicationRestart() => AddEvent(CommunicationRestartEvent);

    /// <summary>Copies the events newest first (6.10 "Event 0 is the most recent") and returns how many.</summary>
    public int CopyEventsNewestFirst(Span<byte> destination)
    {
        for (var i = 0; i < EventCount; i++)
        {
            destination[i] = _events[(_eventHead - 1 - i + EventLogCapacity) % EventLogCapacity];
        }

        return EventCount;
    }

    private void AddEvent(byte value)
    {
        _events[_eventHead] = value;
        _eventHead = (_eventHead + 1) % EventLogCapacity;
        EventCount = Math.Min(EventCount + 1, EventLogCapacity);
    }
}
