using System.Text.Json;
using System.Text.RegularExpressions;
using YamlDotNet.Core;

namespace Mcpd.Cli;

/// <summary>
/// A configuration file that cannot be read, said as compilers say it: <c>FILE:LINE:COLUMN: reason</c>, from the
/// parser's own position (the configuration providers wrap it in "Failed to load configuration from file").
/// </summary>
internal static partial class ConfigurationFileError
{
    /// <summary>True for the exceptions a configuration file's loading throws.</summary>
    public static bool IsLoadFailure(Exception exception) =>
        exception is FileNotFoundException or InvalidDataException or FormatException or YamlException or UnauthorizedAccessException;

    /// <summary>One line for <paramref name="exception"/>, with the file, line and column when the parser knows them.</summary>
    public static string Describe(Exception exception, string? file)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            switch (ex)
            {
                case YamlException yaml:
                    return $"{file}:{yaml.Start.Line}:{yaml.Start.Column}: {YamlPosition().Replace(yaml.Message, "")}";
                case JsonException { LineNumber: { } line } json:
                    return $"{file}:{line + 1}:{json.BytePositionInLine + 1}: {JsonPosition().Replace(json.Message, "")}";
            }
        }

        if (exception is FileNotFoundException or UnauthorizedAccessException)
        {
            return exception.Message;
        }

        // The YAML provider drops the parser's error (it throws a bare Exception): parse again to learn where and why.
        return file is not null && YamlSyntaxError(file) is { } syntax
            ? Describe(syntax, file)
            : $"{file}: {exception.Message} {exception.InnerException?.Message}".TrimEnd();
    }

    private static YamlException? YamlSyntaxError(string file)
    {
        Scanner? scanner = null;
        try
        {
            using var reader = File.OpenText(file);
            scanner = new Scanner(reader);
            new YamlDotNet.RepresentationModel.YamlStream().Load(new Parser(scanner));
            return null;
        }
        catch (YamlException ex)
        {
            return ex;
        }
        catch (IOException)
        {
            return null;
        }
        catch (Exception ex) when (scanner is not null && ex.GetType() == typeof(Exception))
        {
            // Some scanner errors of YamlDotNet are a bare Exception without a message: the scanner's position still
            // says where it stopped. Anything else (a bug, out of memory) is not a syntax error and goes on up.
            return new YamlException(scanner.CurrentPosition, scanner.CurrentPosition,
                "the YAML does not parse from here (an unclosed [ or {, or an unclosed quote?)");
        }
    }

    /// <summary>YamlDotNet puts the position first: "(Line: 3, Col: 9, Idx: 30) - (Line: 3, Col: 9, Idx: 30): ".</summary>
    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex YamlPosition();

    /// <summary>System.Text.Json puts it last: " LineNumber: 1 | BytePositionInLine: 9."</summary>
    [GeneratedRegex(@"\s*(Path: \S+ \| )?LineNumber: \d+ \| BytePositionInLine: \d+\.$")]
    private static partial Regex JsonPosition();
}
