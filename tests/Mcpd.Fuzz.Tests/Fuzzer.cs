using System.Globalization;
using System.Security.Cryptography;
using CsCheck;

namespace Mcpd.Fuzz.Tests;

/// <summary>
/// Runs one fuzz target (docs/fuzzing.md): first every input of its corpus, <c>corpus/TARGET/</c> (<c>*.hex</c>: hex
/// digits, whitespace and <c>#</c> comments ignored; any other file: its raw bytes), then CsCheck's generated inputs
/// for a time budget: <c>MCPD_FUZZ_SECONDS</c> per target (default <see cref="DefaultSeconds"/>), on
/// <c>MCPD_FUZZ_THREADS</c> threads (default 1: CI shares two cores), from CsCheck's seed <c>CsCheck_Seed</c> when it
/// is set. A failure names the corpus file, or the seed and the shrunk input in hex with the corpus file to add.
/// </summary>
internal static class Fuzzer
{
    /// <summary>Seconds of generated inputs per target when MCPD_FUZZ_SECONDS is not set: CI's bounded run.</summary>
    public const int DefaultSeconds = 4;

    public static void Run<TCase>(string target, Action<byte[]> replay, Gen<TCase> generated, Action<TCase> check, Func<TCase, byte[]> inputOf)
    {
        ArgumentNullException.ThrowIfNull(generated);
        ArgumentNullException.ThrowIfNull(inputOf);
        foreach (var file in CorpusFiles(target))
        {
            var input = Read(file);
            try
            {
                replay(input);
            }
            catch (Exception ex)
            {
                throw new Xunit.Sdk.XunitException($"corpus/{target}/{Path.GetFileName(file)} ({Convert.ToHexString(input)}) fails: {ex.Message}", ex);
            }
        }

        generated.Sample(
            check,
            writeLine: line => TestContext.Current.TestOutputHelper?.WriteLine($"{target}: {line}"),
            time: Setting("MCPD_FUZZ_SECONDS", DefaultSeconds),
            threads: Setting("MCPD_FUZZ_THREADS", 1),
            print: fuzzCase =>
            {
                var hex = Convert.ToHexString(inputOf(fuzzCase));
                return $"{fuzzCase}\ninput: {hex}\nto keep it: echo {hex} > tests/Mcpd.Fuzz.Tests/corpus/{target}/crash-{Convert.ToHexStringLower(SHA256.HashData(inputOf(fuzzCase)))[..12]}.hex";
            });
    }

    private static IEnumerable<string> CorpusFiles(string target)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "corpus", target);
        return Directory.Exists(directory) ? Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal) : [];
    }

    private static byte[] Read(string file)
    {
        if (Path.GetExtension(file) != ".hex")
        {
            return File.ReadAllBytes(file);
        }

        var digits = string.Concat(File.ReadLines(file).Select(line => line.Split('#')[0]).SelectMany(line => line.Where(char.IsAsciiHexDigit)));
        return Convert.FromHexString(digits);
    }

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
}
