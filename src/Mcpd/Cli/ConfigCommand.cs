using System.CommandLine;

namespace Mcpd.Cli;

/// <summary><c>mcpd config check FILE</c>: prints every problem of a configuration file with its key path.</summary>
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
            catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or FormatException or YamlDotNet.Core.YamlException)
            {
                problems = [ex.Message];
            }

            foreach (var problem in problems)
            {
                await Console.Out.WriteLineAsync(problem.AsMemory(), cancellationToken);
            }

            await Console.Out.WriteLineAsync(problems.Count == 0 ? $"{path}: OK" : $"{path}: {problems.Count} problem(s)");
            return problems.Count == 0 ? ExitCodes.Success : ExitCodes.BadConfiguration;
        });
        return new Command("config", "Configuration tools") { check };
    }
}
