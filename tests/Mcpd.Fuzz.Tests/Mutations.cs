using CsCheck;

namespace Mcpd.Fuzz.Tests;

/// <summary>
/// Inputs biased towards what breaks decoders: valid frames as they are, the same with a few mutations (a bit
/// flipped, a byte or a 16-bit field set to a boundary value, cut short, bytes inserted, removed, repeated or
/// appended), several frames back to back, and plain noise. The mutations are drawn as numbers, so CsCheck shrinks
/// a failing input to fewer and simpler ones.
/// </summary>
internal static class Mutations
{
    private const int MaxNoiseLength = 300;

    private enum Mutation
    {
        FlipBit,
        SetByte,
        SetWordBigEndian,
        SetWordLittleEndian,
        Truncate,
        Insert,
        Remove,
        Repeat,
        Append,
    }

    /// <summary>Boundary values for a byte or 16-bit field; the other values <see cref="Apply"/> sets are the count of bytes after the field, +-2.</summary>
    private static readonly ushort[] Boundaries = [0x0000, 0x0001, 0x0002, 0x0007, 0x007F, 0x0080, 0x00FD, 0x00FE, 0x00FF, 0x0100, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF];

    /// <summary>Inputs made from <paramref name="valid"/> frames, most of them mutated.</summary>
    public static Gen<byte[]> Of(Gen<byte[]> valid) => Gen.Frequency(
        (2, valid),
        (6, Gen.Select(valid, Plan, Apply)),
        (1, Gen.Select(valid.Array[2, 4], Plan, (frames, plan) => Apply([.. frames.SelectMany(f => f)], plan))),
        (1, Gen.Byte.Array[0, MaxNoiseLength]));

    /// <summary>
    /// Inputs of <see cref="Of"/>, which promise nothing, and valid frames followed by garbage, which promise that frame
    /// decodes first.
    /// </summary>
    public static Gen<FuzzInput> Inputs(Gen<byte[]> valid) => Gen.Frequency(
        (4, Of(valid).Select(bytes => new FuzzInput(bytes, 0))),
        (1, Gen.Select(valid, Gen.Byte.Array[0, 64], (frame, garbage) => new FuzzInput([.. frame, .. garbage], frame.Length))));

    /// <summary>Up to four mutations, each a kind, a place and a value.</summary>
    private static Gen<(Mutation Kind, int Place, int Value)[]> Plan =>
        Gen.Select(Gen.Enum<Mutation>(), Gen.Int[0, int.MaxValue], Gen.Int[0, int.MaxValue]).Array[1, 4];

    private static byte[] Apply(byte[] input, (Mutation Kind, int Place, int Value)[] plan)
    {
        var bytes = new List<byte>(input);
        foreach (var (kind, place, value) in plan)
        {
            var at = bytes.Count == 0 ? 0 : place % bytes.Count;
            var boundary = value % 4 == 0 ? (ushort)(bytes.Count - at + (value / 4 % 5) - 2) : Boundaries[value % Boundaries.Length];
            switch (kind)
            {
                case Mutation.FlipBit when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << (value % 8));
                    break;
                case Mutation.SetByte when bytes.Count > 0:
                    bytes[at] = (byte)boundary;
                    break;
                case Mutation.SetWordBigEndian or Mutation.SetWordLittleEndian when bytes.Count > 1:
                    var (high, low) = ((byte)(boundary >> 8), (byte)boundary);
                    at = Math.Min(at, bytes.Count - 2);
                    (bytes[at], bytes[at + 1]) = kind == Mutation.SetWordBigEndian ? (high, low) : (low, high);
                    break;
                case Mutation.Truncate:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                case Mutation.Insert:
                    bytes.InsertRange(at, Noise(value, 1 + (value % 8)));
                    break;
                case Mutation.Remove when bytes.Count > 0:
                    bytes.RemoveRange(at, Math.Min(1 + (value % 8), bytes.Count - at));
                    break;
                case Mutation.Repeat when bytes.Count > 0:
                    bytes.InsertRange(at, bytes.GetRange(at, Math.Min(1 + (value % 16), bytes.Count - at)));
                    break;
                case Mutation.Append:
                    bytes.AddRange(Noise(value, value % 32));
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary><paramref name="count"/> bytes drawn from <paramref name="seed"/>: the plan stays numbers, so it shrinks.</summary>
    private static byte[] Noise(int seed, int count)
    {
        var noise = new byte[count];
        new Random(seed).NextBytes(noise);
        return noise;
    }
}

/// <summary>A generated input; when <see cref="ValidLength"/> is not 0 its first that many bytes are one valid frame.</summary>
internal sealed record FuzzInput(byte[] Bytes, int ValidLength)
{
    public override string ToString() => ValidLength == 0 ? "no frame promised" : $"a valid frame of {ValidLength} bytes, then garbage";
}
