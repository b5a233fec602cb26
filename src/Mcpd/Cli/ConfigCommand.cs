using System.CommandLine;

namespace Mcpd.Cli;

/// <summary>
/// <c>mcpd config check FILE</c>: prints every problem of a configuration file with its key path.
/// <c>mcpd config show [FILE]</c>: prints the effective configuration with the source of each value.
/// </summary>
internal static class ConfigCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "The configuration file (YAML or JSON)" };
        var check = new Command("check", "Check a configuration file (with the MCPD__ environment over it) and print every problem") { file };
        check.SetAction(async (result, cancellationToken) =>
        {
            var path = result.GetRequiredValue(file);
            IReadOnlyList<string> problems;
            try
            {
                problems = McpdConfiguration.Check(McpdConfiguration.Build(path, new Dictionary<string, string?>()));
            }
            catch (Exception ex) when (ConfigurationFileError.IsLoadFailure(ex))
            {
                problems = [ConfigurationFileError.Describe(ex, path)];
            }

            foreach (var problem in problems)
            {
                await Console.Out.WriteLineAsync(problem.AsMemory(), cancellationToken);
            }

            await Console.Out.WriteLineAsync(problems.Count == 0 ? $"{path}: OK" : $"{path}: {problems.Count} problem(s)");
            return problems.Count == 0 ? ExitCodes.Success : ExitCodes.BadConfiguration;
        });
        var showFile = new Argument<string?>("file") { Description = $"The configuration file; default: ./{McpdConfiguration.DefaultFileName} when it exists", Arity = ArgumentArity.ZeroOrOne };
        var show = new Command("show", "Print the effective configuration (defaults < file < MCPD__ environment) with the source of each value") { showFile };
        show.SetAction(async (result, cancellationToken) =>
        {
            var path = McpdConfiguration.ResolveFile(result.GetValue(showFile));
            IReadOnlyList<(string Key, string Value, string Source)> rows;
            try
            {
                rows = EffectiveConfiguration.Describe(McpdConfiguration.Build(path, new Dictionary<string, string?>()));
            }
            catch (Exception ex) when (ConfigurationFileError.IsLoadFailure(ex) || ex is InvalidOperationException)
            {
                await Console.Error.WriteLineAsync($"mcpd: {ConfigurationFileError.Describe(ex, path)}");
                return ExitCodes.BadConfiguration;
            }

            var width = Math.Min(60, rows.Max(r => r.Key.Length + r.Value.Length) + 3);
            foreach (var (key, value, source) in rows)
            {
                var setting = $"{key} = {value}";
                await Console.Out.WriteLineAsync($"{setting.PadRight(width - 1)} # {source}".AsMemory(), cancellationToken);
            }

            return ExitCodes.Success;
        });
        return new Command("config", "Configuration tools") { check, show };
    }
}
