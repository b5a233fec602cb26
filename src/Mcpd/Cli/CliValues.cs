using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using Mcpd.Client;

namespace Mcpd.Cli;

/// <summary>
/// Parsers for the CLI's typed arguments and options. Each says, in the user's terms, which argument is wrong, what
/// was given and what is allowed ("--unit: '300' is not a unit id (0..255)"), where System.CommandLine's own
/// conversion would name .NET types ("expected type 'System.Byte'").
/// </summary>
internal static class CliValues
{
    /// <summary>An integer <paramref name="what"/> in <paramref name="minimum"/>..<paramref name="maximum"/>, decimal or 0x-hex.</summary>
    public static Func<ArgumentResult, T> Integer<T>(string what, T minimum, T maximum)
        where T : struct, IBinaryInteger<T> => result =>
    {
        var text = result.Tokens[^1].Value;
        var hex = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
        if (T.TryParse(hex ? text.AsSpan(2) : text, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            && value >= minimum && value <= maximum)
        {
            return value;
        }

        result.AddError($"{NameOf(result)}: '{text}' is not {what} ({minimum}..{maximum})");
        return default;
    };

    /// <summary>An optional TCP port, 0..65535 (0: a free port chosen at start).</summary>
    public static Func<ArgumentResult, int?> Port() => result => Integer("a TCP port", 0, 65535)(result);

    /// <summary>A number of seconds greater than 0 and at most <paramref name="maximum"/>.</summary>
    public static Func<ArgumentResult, double> Seconds(double maximum) => result =>
    {
        var text = result.Tokens[^1].Value;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= maximum)
        {
            return seconds;
        }

        result.AddError($"{NameOf(result)}: '{text}' is not a number of seconds (more than 0, at most {maximum.ToString(CultureInfo.InvariantCulture)})");
        return default;
    };

    /// <summary>One of <paramref name="allowed"/>'s names, any case; the error lists them in lower case, then <paramref name="note"/>.</summary>
    public static Func<ArgumentResult, T> OneOf<T>(T[] allowed, string? note = null)
        where T : struct, Enum => result =>
    {
        var text = result.Tokens[^1].Value;
        if (Enum.TryParse<T>(text, ignoreCase: true, out var value) && !int.TryParse(text, CultureInfo.InvariantCulture, out _) && allowed.Contains(value))
        {
            return value;
        }

        result.AddError($"{NameOf(result)}: '{text}' is not one of {Names(allowed)}{(note is null ? "" : $" ({note})")}");
        return default;
    };

    /// <summary>One of <paramref name="allowed"/>, as typed (any case).</summary>
    public static Func<ArgumentResult, string> OneOf(params string[] allowed) => result =>
    {
        var text = result.Tokens[^1].Value;
        if (allowed.FirstOrDefault(a => a.Equals(text, StringComparison.OrdinalIgnoreCase)) is { } value)
        {
            return value;
        }

        result.AddError($"{NameOf(result)}: '{text}' is not one of {string.Join('|', allowed)}");
        return "";
    };

    /// <summary>
    /// Why a connection could not be made, with what to check: "Connection refused" means nothing listens on the port.
    /// </summary>
    public static string CannotConnect(HostPort endpoint, System.Net.Sockets.SocketException exception) =>
        exception.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionRefused
            ? $"mcpd: cannot connect to {endpoint}: nothing listens on that port (is mcpd serve running, with this port?)"
            : $"mcpd: cannot connect to {endpoint}: {exception.Message}";

    /// <summary>The names of <paramref name="values"/> as the user types them: "coils|holding".</summary>
    public static string Names<T>(IEnumerable<T> values)
        where T : struct, Enum => string.Join('|', values.Select(v => v.ToString().ToLowerInvariant()));

    /// <summary>How the user wrote the symbol: <c>--unit</c> for an option, <c>&lt;address&gt;</c> for an argument.</summary>
    public static string NameOf(SymbolResult result) => result switch
    {
        OptionResult option => option.Option.Name,
        ArgumentResult { Parent: OptionResult option } => option.Option.Name,
        ArgumentResult argument => $"<{argument.Argument.Name}>",
        _ => "",
    };

    /// <summary>The usage line of <paramref name="command"/>: <c>mcpd read &lt;endpoint&gt; &lt;table&gt; [&lt;count&gt;] [options]</c>.</summary>
    public static string Usage(Command command)
    {
        var path = new List<string>();
        for (Symbol? symbol = command; symbol is Command c; symbol = c.Parents.FirstOrDefault())
        {
            path.Insert(0, c is RootCommand ? "mcpd" : c.Name);
        }

        var arguments = command.Arguments.Where(a => !a.Hidden).Select(a => a.Arity.MinimumNumberOfValues == 0 ? $"[<{a.Name}>]" : $"<{a.Name}>");
        var tail = command.Subcommands.Count > 0 ? " <command>" : "";
        var options = command.Options.Any(o => !o.Hidden) ? " [options]" : "";
        return string.Join(' ', new[] { string.Join(' ', path) + tail }.Concat(arguments)) + options;
    }

    /// <summary>
    /// A command line that does not parse: each problem on one line, then the usage line and where the help is;
    /// nothing runs. Exit code <see cref="ExitCodes.BadConfiguration"/> (the flags are wrong).
    /// </summary>
    public static int PrintUsageErrors(ParseResult result)
    {
        var command = result.CommandResult.Command;
        var unrecognized = result.Errors.Any(e => e.Message.StartsWith(UnrecognizedToken, StringComparison.Ordinal));
        return PrintUsageProblems(command, result.Errors
            .Where(e => !(unrecognized && e.Message.StartsWith(NoCommand, StringComparison.Ordinal)))
            .Select(e => Explain(e, command)));
    }

    /// <summary>A problem found after parsing (arguments that do not fit together): said as a parse error is.</summary>
    public static int RefuseUsage(ParseResult result, string problem) => PrintUsageProblems(result.CommandResult.Command, [problem]);

    private static int PrintUsageProblems(Command command, IEnumerable<string> problems)
    {
        var name = Usage(command).Split(" <", 2)[0].Split(" [", 2)[0];
        foreach (var problem in problems.Distinct())
        {
            Console.Error.WriteLine($"{name}: {problem}");
        }

        Console.Error.WriteLine($"usage: {Usage(command)}");
        Console.Error.WriteLine($"       ({name} --help lists every argument and option)");
        return ExitCodes.BadConfiguration;
    }

    private const string NoCommand = "Required command was not provided";

    private const string UnrecognizedToken = "Unrecognized command or argument";

    private const string MissingArgument = "Required argument missing";

    /// <summary>System.CommandLine's messages that name no argument are said again with the argument's name.</summary>
    private static string Explain(ParseError error, Command command)
    {
        if (error.Message.StartsWith(MissingArgument, StringComparison.Ordinal))
        {
            switch (error.SymbolResult)
            {
                case OptionResult option:
                    return $"{option.Option.Name} needs a value ({option.Option.Description})";
                case ArgumentResult { Parent: not OptionResult } argument:
                    return $"missing <{argument.Argument.Name}> ({argument.Argument.Description})";
                case CommandResult result:
                    var missing = result.Command.Arguments
                        .Where(a => a.Arity.MinimumNumberOfValues > 0 && result.GetResult(a) is not { Tokens.Count: > 0 })
                        .Select(a => $"<{a.Name}> ({a.Description})");
                    return $"missing {string.Join(", ", missing)}";
            }
        }

        if (error.Message.StartsWith(NoCommand, StringComparison.Ordinal))
        {
            return $"which command? {string.Join(", ", command.Subcommands.Select(c => c.Name))}";
        }

        if (error.Message.StartsWith(UnrecognizedToken, StringComparison.Ordinal))
        {
            var token = error.Message.Split('\'') is { Length: >= 2 } parts ? parts[1] : error.Message;
            return command.Subcommands.Count > 0
                ? $"'{token}' is not a command; the commands are {string.Join(", ", command.Subcommands.Select(c => c.Name))}"
                : $"'{token}' is not an argument or option of this command";
        }

        return error.Message.TrimEnd('.');
    }
}
