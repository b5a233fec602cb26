using System.Text.RegularExpressions;
using Mcpd.Server.Tests.Configuration;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Docs;

/// <summary>
/// Every command the README and docs/ show with a <c>$ </c> prompt runs here, as in the repository's root, against a
/// real server, and prints what the document shows under it, so no documented command can rot. A document's commands
/// share a scratch directory that links to every entry of the repository's root: they read its files by the paths
/// the documents use, and what they write (certificates, say) stays out of the repository. The documents use the
/// default ports (Modbus 5020, MCP 8080, admin 8081): they are replaced by the test server's. Expected output is
/// compared without whitespace, and <c>...</c> in it stands for anything; a command shown without output must exit 0
/// (curl with --fail-with-body, so an HTTP error counts).
/// </summary>
public partial class DocumentedCommandsTests
{
    private static readonly string Root = ConfigurationTests.RepositoryRoot();

    /// <summary>Tools the documents run that a fresh machine may lack, each its Debian package's name.</summary>
    private static readonly string[] DebianTools = ["mbpoll", "openssl"];

    public static TheoryData<string> Documents()
    {
        var documents = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(Path.Combine(Root, "docs"), "*.md").Prepend(Path.Combine(Root, "README.md")).Order(StringComparer.Ordinal))
        {
            if (Commands(path).Count > 0)
            {
                documents.Add(Path.GetRelativePath(Root, path));
            }
        }

        return documents;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public async Task Every_command_of_a_document_runs_and_prints_what_it_shows(string document)
    {
        var commands = Commands(Path.Combine(Root, document));
        foreach (var tool in DebianTools.Where(tool => commands.Any(c => c.Line.StartsWith(tool + " ", StringComparison.Ordinal))))
        {
            await DebianPackages.EnsureAsync(tool, [$"/usr/bin/{tool}"], $"{document} runs {tool}");
        }

        await using var server = await McpdTestServer.StartAsync();
        var bin = Directory.CreateTempSubdirectory("mcpd-doc-bin-");
        var work = Directory.CreateTempSubdirectory("mcpd-doc-work-");
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(Root))
            {
                File.CreateSymbolicLink(Path.Combine(work.FullName, Path.GetFileName(entry)), entry);
            }

            // `mcpd` in a document is the installed tool: here, the executable this test suite built.
            var mcpd = Path.Combine(bin.FullName, "mcpd");
            await File.WriteAllTextAsync(mcpd, $"#!/bin/sh\nexec dotnet '{typeof(Mcpd.Cli.ExitCodes).Assembly.Location}' \"$@\"\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(mcpd, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            var environment = new Dictionary<string, string> { ["PATH"] = $"{bin.FullName}:{Environment.GetEnvironmentVariable("PATH")}" };

            foreach (var command in commands)
            {
                // curl exits 0 on an HTTP error unless told otherwise: a refused request must fail the test.
                var line = OnTestPorts(command.Line, server).Replace("curl ", "curl --fail-with-body ", StringComparison.Ordinal);
                var result = await ProcessRunner.RunAsync("bash", ["-o", "pipefail", "-c", $"cd '{work.FullName}' && {line}"], TimeSpan.FromSeconds(60), environment);
                var where = $"{document}:{command.LineNumber}: $ {command.Line}\n{result}";
                if (command.Output.Count == 0)
                {
                    Assert.True(result.Succeeded, where);
                }
                else
                {
                    Assert.True(Regex.IsMatch(Squeeze(result.StandardOutput + result.StandardError), ExpectedPattern(command.Output.Select(o => OnTestPorts(o, server))), RegexOptions.Singleline), where);
                }

                Assert.DoesNotContain("Unhandled exception", result.StandardError, StringComparison.Ordinal);
            }
        }
        finally
        {
            bin.Delete(recursive: true);
            work.Delete(recursive: true); // removes the links, not what they point to
        }
    }

    /// <summary>A documented command: its line (prompt and trailing comment removed) and the output shown under it.</summary>
    private sealed record Command(int LineNumber, string Line, List<string> Output);

    private static List<Command> Commands(string path)
    {
        var commands = new List<Command>();
        var inFence = false;
        Command? current = null;
        var lines = File.ReadAllLines(path);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
                current = null;
                continue;
            }

            if (!inFence)
            {
                continue;
            }

            if (line.StartsWith("$ ", StringComparison.Ordinal))
            {
                current = new Command(i + 1, TrailingComment().Replace(line[2..], "").Trim(), []);
                commands.Add(current);
            }
            else if (line.Length == 0)
            {
                current = null;
            }
            else
            {
                current?.Output.Add(line);
            }
        }

        return commands;
    }

    private static string OnTestPorts(string line, McpdTestServer server) => line
        .Replace(":5020", $":{server.ModbusEndPoint.Port}", StringComparison.Ordinal)
        .Replace("-p 5020", $"-p {server.ModbusEndPoint.Port}", StringComparison.Ordinal)
        .Replace("--modbus-port 5020", $"--modbus-port {server.ModbusEndPoint.Port}", StringComparison.Ordinal)
        .Replace(":8080", $":{server.McpEndPoint.Port}", StringComparison.Ordinal)
        .Replace(":8081", $":{server.AdminUri.Port}", StringComparison.Ordinal);

    private static string ExpectedPattern(IEnumerable<string> output) =>
        string.Join(".*?", Squeeze(string.Join("", output)).Split("...").Select(Regex.Escape));

    private static string Squeeze(string text) => Whitespace().Replace(text, "");

    /// <summary>A comment after a command: two or more spaces, then <c>#</c> (a <c>#</c> inside a value has none before it).</summary>
    [GeneratedRegex(@"\s{2,}#.*$")]
    private static partial Regex TrailingComment();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
