using System.Buffers;

namespace Mcpd.Testing;

/// <summary>Multi-segment <see cref="ReadOnlySequence{T}"/>s, as a pipe delivers bytes that arrived in several reads.</summary>
public static class SegmentedSequence
{
    /// <summary>A sequence whose segments are <paramref name="parts"/>, in order.</summary>
    public static ReadOnlySequence<byte> Create(params ReadOnlyMemory<byte>[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        return Chain(parts, 0, parts[^1].Length);
    }

    /// <summary><paramref name="data"/> in two segments, split before index <paramref name="at"/>.</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, int at) => Create(data.AsMemory(0, at), data.AsMemory(at));

    /// <summary>
    /// <paramref name="data"/> cut before each index of <paramref name="cuts"/> (ascending; a repeated index makes an
    /// empty segment). Every segment is a slice of a larger block filled with <paramref name="noise"/>, and the
    /// sequence starts inside its first segment's memory and ends inside its last one's, so a reader that looks past
    /// the sequence's start or end, or past a segment's slice, reads noise instead of failing.
    /// </summary>
    public static ReadOnlySequence<byte> Padded(byte[] data, IReadOnlyList<int> cuts, byte noise)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(cuts);
        const int padding = 16;
        var bounds = cuts.Prepend(0).Append(data.Length).ToArray();
        var parts = new ReadOnlyMemory<byte>[bounds.Length - 1];
        for (var i = 0; i < parts.Length; i++)
        {
            var length = bounds[i + 1] - bounds[i];
            var block = new byte[padding + length + padding];
            Array.Fill(block, noise);
            data.AsSpan(bounds[i], length).CopyTo(block.AsSpan(padding));
            var first = i == 0;
            var last = i == parts.Length - 1;
            parts[i] = block.AsMemory(first ? 0 : padding, (first ? padding : 0) + length + (last ? padding : 0));
        }

        var lastLength = bounds[^1] - bounds[^2];
        return Chain(parts, padding, (parts.Length == 1 ? padding : 0) + lastLength);
    }

    private static ReadOnlySequence<byte> Chain(ReadOnlyMemory<byte>[] parts, int startIndex, int endIndex)
    {
        var first = new Segment(parts[0], 0);
        var last = first;
        foreach (var part in parts.Skip(1))
        {
            last = last.Append(part);
        }

        return new ReadOnlySequence<byte>(first, startIndex, last, endIndex);
    }

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
