namespace Mcpd.Protocols.Modbus;

/// <summary>
/// The RTU silent intervals (Serial Line V1.02, 2.5.1.1): a frame ends after 3.5 character times of silence (t3.5),
/// and a gap of more than 1.5 character times inside a frame (t1.5) breaks it. Above 19200 baud the values are
/// fixed, 1750 us and 750 us, so that fast lines do not need sub-millisecond timers.
/// </summary>
public static class ModbusRtuTiming
{
    /// <summary>An RTU character: 1 start bit, 8 data bits, parity (or a second stop bit), 1 stop bit (2.5.1).</summary>
    public const int BitsPerCharacter = 11;

    /// <summary>Above this baud rate the fixed intervals apply.</summary>
    public const int FixedIntervalsAboveBaudRate = 19200;

    /// <summary>t3.5 above 19200 baud, in microseconds.</summary>
    public const int FixedInterFrameDelayMicroseconds = 1750;

    /// <summary>t1.5 above 19200 baud, in microseconds.</summary>
    public const int FixedInterCharacterTimeoutMicroseconds = 750;

    /// <summary>The bits of one character: start bit, data bits, a parity bit unless none, stop bits.</summary>
    public static int CharacterBits(int dataBits, bool parity, int stopBits) => 1 + dataBits + (parity ? 1 : 0) + stopBits;

    /// <summary>How long one character takes on the line, in microseconds, rounded up.</summary>
    public static int CharacterTimeMicroseconds(int baudRate, int bitsPerCharacter = BitsPerCharacter) =>
        CharacterTimes(1, baudRate, bitsPerCharacter);

    /// <summary>t3.5, the silent interval between frames, in microseconds (rounded up).</summary>
    public static int InterFrameDelayMicroseconds(int baudRate, int bitsPerCharacter = BitsPerCharacter) =>
        baudRate > FixedIntervalsAboveBaudRate ? FixedInterFrameDelayMicroseconds : CharacterTimes(3.5, baudRate, bitsPerCharacter);

    /// <summary>t1.5, the longest gap inside a frame, in microseconds (rounded up).</summary>
    public static int InterCharacterTimeoutMicroseconds(int baudRate, int bitsPerCharacter = BitsPerCharacter) =>
        baudRate > FixedIntervalsAboveBaudRate ? FixedInterCharacterTimeoutMicroseconds : CharacterTimes(1.5, baudRate, bitsPerCharacter);

    private static int CharacterTimes(double characters, int baudRate, int bitsPerCharacter)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(baudRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bitsPerCharacter);
        return (int)Math.Ceiling(characters * bitsPerCharacter * 1_000_000.0 / baudRate);
    }
}
