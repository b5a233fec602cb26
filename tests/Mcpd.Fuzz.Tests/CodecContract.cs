using Mcpd.Testing;

namespace Mcpd.Fuzz.Tests;

/// <summary>
/// What one decode said, comparable between decodes of the same bytes: the status, how far it consumed (an offset
/// into the input) and the frame as text (the target decides what of the frame it describes).
/// </summary>
internal readonly record struct DecodeOutcome(OperationStatus Status, long Consumed, string Frame);

/// <summary>
/// The codec contract (docs/architecture.md, "Codec contract") checked on any input: the decode returns, consumed is
/// inside the input, and the outcome does not depend on how the bytes are laid out or how many have arrived.
/// </summary>
internal static class CodecContract
{
    /// <summary>Inputs up to this long are decoded split at every index and cut at every length.</summary>
    private const int ExhaustiveLength = 96;

    /// <summary>
    /// Decodes <paramref name="input"/> and checks: consumed lies inside it (past the start for a frame); the same bytes in segments (two at every
    /// split or at sampled ones, one byte each, several with empty ones) inside noise give the same outcome; and every
    /// prefix (all for short inputs, else the edges and a sample) decodes exactly as the whole does once it holds what
    /// the whole consumed for a decision, and before that needs more data (consuming no further than the whole) or
    /// decides exactly as the whole does: garbage is never told from a partial frame by how many bytes arrived.
    /// The samples come from the input's hash, so a printed input replays the same checks.
    /// </summary>
    /// <remarks>
    /// A <paramref name="resynchronising"/> decoder (the CRC framing) waits for the whole of its earliest candidate
    /// frame before it looks past it, so a prefix that already holds a later complete frame may still need more data
    /// (docs/fuzzing.md, "Known and left"); it is held to the rest of the contract.
    /// </remarks>
    public static DecodeOutcome Check(byte[] input, Func<ReadOnlySequence<byte>, DecodeOutcome> decode, bool resynchronising = false)
    {
        var whole = decode(new ReadOnlySequence<byte>(input));
        Assert.InRange(whole.Consumed, whole.Status == OperationStatus.Done ? 1 : 0, input.Length);
        var random = new Random(StableHash(input));
        var noise = (byte)random.Next(256);
        foreach (var cuts in Segmentations(input.Length, random))
        {
            var segmented = decode(SegmentedSequence.Padded(input, cuts, noise));
            Assert.True(whole == segmented, $"cut at [{string.Join(", ", cuts)}]: {segmented}, contiguous: {whole}");
        }

        foreach (var length in PrefixLengths(input.Length, whole.Consumed, random))
        {
            var prefix = decode(new ReadOnlySequence<byte>(input, 0, length));
            var holdsWholeDecision = !resynchronising && whole.Status != OperationStatus.NeedMoreData && whole.Consumed > 0 && length >= whole.Consumed;
            var consistent = prefix.Status == OperationStatus.NeedMoreData && !holdsWholeDecision ? prefix.Consumed <= whole.Consumed : prefix == whole;
            Assert.True(consistent, $"the first {length} bytes: {prefix}, all {input.Length}: {whole}");
        }

        return whole;
    }

    /// <summary>The offset of <paramref name="position"/> in <paramref name="buffer"/>; throws when it is not inside it.</summary>
    public static long Offset(in ReadOnlySequence<byte> buffer, SequencePosition position) => buffer.Slice(buffer.Start, position).Length;

    private static IEnumerable<int[]> Segmentations(int length, Random random)
    {
        var splits = length <= ExhaustiveLength ? Enumerable.Range(0, length + 1) : Enumerable.Range(0, 16).Select(_ => random.Next(length + 1));
        foreach (var split in splits)
        {
            yield return [split];
        }

        yield return [.. Enumerable.Range(1, Math.Max(0, length - 1))];
        for (var i = 0; i < 4; i++)
        {
            yield return [.. Enumerable.Range(0, random.Next(2, 8)).Select(_ => random.Next(length + 1)).Order()];
        }
    }

    private static IEnumerable<int> PrefixLengths(int length, long consumed, Random random)
    {
        if (length <= ExhaustiveLength)
        {
            return Enumerable.Range(0, length);
        }

        var edges = Enumerable.Range(0, 16).Concat(Enumerable.Range(length - 16, 16));
        var around = new[] { (int)consumed - 1, (int)consumed }.Where(l => l >= 0 && l < length);
        return edges.Concat(around).Concat(Enumerable.Range(0, 32).Select(_ => random.Next(length))).Distinct();
    }

    /// <summary>FNV-1a: the same input hashes the same in every process (string.GetHashCode does not).</summary>
    private static int StableHash(byte[] input)
    {
        var hash = 2166136261u;
        foreach (var b in input)
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)hash;
    }
}
