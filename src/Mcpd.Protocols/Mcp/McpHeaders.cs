using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace Mcpd.Protocols.Mcp;

/// <summary>
/// The validated headers block of a REQ or RESP: <c>count u8</c>, then per header <c>key (u8 length + lowercase
/// printable ASCII) | value (u16 length + UTF-8)</c>. Keeps the raw bytes and reads them on demand.
/// </summary>
public readonly struct McpHeaders
{
    private readonly ReadOnlySequence<byte> _block;

    internal McpHeaders(ReadOnlySequence<byte> block, int count)
    {
        _block = block;
        Count = count;
    }

    /// <summary>Number of headers.</summary>
    public int Count { get; }

    /// <summary>The headers as strings (allocates; for handlers and tools, not the hot path).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ToList()
    {
        var headers = new List<KeyValuePair<string, string>>(Count);
        var reader = new SequenceReader<byte>(_block);
        reader.Advance(1);
        for (var i = 0; i < Count; i++)
        {
            reader.TryRead(out var keyLength);
            var key = Encoding.ASCII.GetString(reader.UnreadSequence.Slice(0, keyLength));
            reader.Advance(keyLength);
            reader.TryReadBigEndian(out short valueLength);
            var value = Encoding.UTF8.GetString(reader.UnreadSequence.Slice(0, (ushort)valueLength));
            reader.Advance((ushort)valueLength);
            headers.Add(new(key, value));
        }

        return headers;
    }

    /// <summary>The value of <paramref name="key"/> (lowercase), or null; allocates only the value.</summary>
    public string? this[string key]
    {
        get
        {
            Span<byte> utf8Key = stackalloc byte[byte.MaxValue];
            return key.Length <= byte.MaxValue && TryFind(utf8Key[..Encoding.ASCII.GetBytes(key, utf8Key)], out var value)
                ? Encoding.UTF8.GetString(value)
                : null;
        }
    }

    /// <summary>Finds the first header named <paramref name="key"/> (ASCII bytes) without allocating.</summary>
    public bool TryFind(ReadOnlySpan<byte> key, out ReadOnlySequence<byte> value)
    {
        var reader = new SequenceReader<byte>(_block);
        reader.Advance(1);
        for (var i = 0; i < Count; i++)
        {
            reader.TryRead(out var keyLength);
            var matches = keyLength == key.Length && reader.IsNext(key);
            reader.Advance(keyLength);
            reader.TryReadBigEndian(out short valueLength);
            if (matches)
            {
                value = reader.UnreadSequence.Slice(0, (ushort)valueLength);
                return true;
            }

            reader.Advance((ushort)valueLength);
        }

        value = default;
        return false;
    }

    /// <summary>
    /// Validates the headers block at the reader's position and moves past it; returns its length in bytes, or a
    /// negative value with <paramref name="problem"/> set.
    /// </summary>
    internal static long Validate(ref SequenceReader<byte> reader, out int count, out string? problem)
    {
        var start = reader.Consumed;
        count = 0;
        problem = null;
        if (!reader.TryRead(out var headerCount))
        {
            problem = "the headers count is missing";
            return -1;
        }

        count = headerCount;
        Span<byte> keyBuffer = stackalloc byte[byte.MaxValue];
        for (var i = 0; i < headerCount; i++)
        {
            if (!reader.TryRead(out var keyLength) || keyLength == 0 || reader.Remaining < keyLength)
            {
                problem = $"header {i}: the key length is missing, zero or runs past the payload";
                return -1;
            }

            var key = keyBuffer[..keyLength];
            reader.TryCopyTo(key);
            reader.Advance(keyLength);
            foreach (var c in key)
            {
                if (c is < 0x21 or > 0x7E || c is >= (byte)'A' and <= (byte)'Z')
                {
                    problem = $"header {i}: the key is not lowercase printable ASCII";
                    return -1;
                }
            }

            if (!reader.TryReadBigEndian(out short signedLength) || reader.Remaining < (ushort)signedLength)
            {
                problem = $"header {i}: the value length is missing or runs past the payload";
                return -1;
            }

            var value = reader.UnreadSequence.Slice(0, (ushort)signedLength);
            if (!IsUtf8(value))
            {
                problem = $"header {i}: the value is not UTF-8";
                return -1;
            }

            reader.Advance((ushort)signedLength);
        }

        return reader.Consumed - start;
    }

    internal static bool IsUtf8(in ReadOnlySequence<byte> bytes)
    {
        if (bytes.IsSingleSegment)
        {
            return Utf8.IsValid(bytes.FirstSpan);
        }

        return Utf8.IsValid(bytes.ToArray());
    }

    internal static void Write(Span<byte> destination, IReadOnlyList<KeyValuePair<string, string>> headers, out int written)
    {
        destination[0] = (byte)headers.Count;
        written = 1;
        foreach (var (key, value) in headers)
        {
            destination[written] = (byte)Encoding.ASCII.GetBytes(key, destination[(written + 1)..]);
            written += 1 + destination[written];
            var valueLength = Encoding.UTF8.GetBytes(value, destination[(written + 2)..]);
            BinaryPrimitives.WriteUInt16BigEndian(destination[written..], (ushort)valueLength);
            written += 2 + valueLength;
        }
    }

    internal static int SizeOf(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (headers.Count > byte.MaxValue)
        {
            throw new ArgumentException("At most 255 headers.", nameof(headers));
        }

        var size = 1;
        foreach (var (key, value) in headers)
        {
            if (key.Length is 0 or > byte.MaxValue || key.Any(c => c is < '!' or > '~' || char.IsAsciiLetterUpper(c)))
            {
                throw new ArgumentException($"Header key '{key}' must be 1..255 lowercase printable ASCII characters.", nameof(headers));
            }

            var valueLength = Encoding.UTF8.GetByteCount(value);
            if (valueLength > ushort.MaxValue)
            {
                throw new ArgumentException($"Header '{key}' is longer than 65535 bytes.", nameof(headers));
            }

            size += 1 + key.Length + 2 + valueLength;
        }

        return size;
    }
}
