using System.Buffers;

namespace Mcpd.Testing;

/// <summary>Multi-segment <see cref="ReadOnlySequence{T}"/>s, as a pipe delivers bytes that arrived in several reads.</summary>
public static class SegmentedSequence
{
    /// <summary>A sequence whose segments are <paramref name="parts"/>, in order.</summary>
    public static ReadOnlySequence<byte> Create(params ReadOnlyMemory<byte>[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var first = new Segment(parts[0], 0);
        var last = first;
        foreach (var part in parts.Skip(1))
        {
            last = last.Append(part);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary><paramref name="data"/> in two segments, split before index <paramref name="at"/>.</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, int at) => Create(data.AsMemory(0, at), data.AsMemory(at));

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
