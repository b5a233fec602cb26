using System.Text.RegularExpressions;
using Mcpd.Server.Tests.Configuration;

namespace Mcpd.Server.Tests.Architecture;

/// <summary>
/// The folders of src/Mcpd.Server are namespaces, layered without cycles (docs/architecture.md, "Folders"). A folder
/// uses another when one of its files names the other's namespace: a using directive, a qualified name
/// (<c>Mcpd.Server.Routing.McpRouter</c>), or a name qualified by the folder alone (<c>Routing.McpRouter</c>).
/// </summary>
public partial class FolderDependencyTests
{
    private static readonly string Source = Path.Combine(ConfigurationTests.RepositoryRoot(), "src", "Mcpd.Server");

    [Fact]
    public void The_folders_depend_on_each_other_without_a_cycle()
    {
        var uses = FolderUses();

        var cycle = FindCycle(uses);

        Assert.True(cycle is null, $"folder cycle: {string.Join(" -> ", cycle ?? [])}\n{Describe(uses)}");
    }

    [Fact]
    public void Transport_uses_no_other_folder()
    {
        var uses = FolderUses();

        Assert.Empty(uses["Transport"]);
    }

    /// <summary>For each folder, the other folders its source files use.</summary>
    private static Dictionary<string, SortedSet<string>> FolderUses()
    {
        var folders = Directory.GetDirectories(Source).Select(Path.GetFileName).Where(name => name is not ("bin" or "obj")).Select(name => name!).ToList();
        var uses = folders.ToDictionary(folder => folder, _ => new SortedSet<string>(StringComparer.Ordinal));
        var names = string.Join("|", folders);
        var byNamespace = new Regex($@"\bMcpd\.Server\.({names})\b");
        var byFolder = new Regex($@"(?<![\w.])({names})\.[A-Z]\w*");
        foreach (var folder in folders)
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(Source, folder), "*.cs", SearchOption.AllDirectories))
            {
                var text = File.ReadAllText(file);
                var named = byNamespace.Matches(text).Concat(byFolder.Matches(text)).Select(match => match.Groups[1].Value);
                uses[folder].UnionWith(named.Where(other => other != folder && NamesNamespaceOf(other, text)));
            }
        }

        return uses;
    }

    /// <summary>
    /// Whether a match of folder <paramref name="other"/> in <paramref name="text"/> names its namespace: always for
    /// <c>Mcpd.Server.X</c>; for <c>X.Name</c> only when folder X declares a type Name (<c>options.Routing.Rules</c>
    /// is a property path, not the Routing folder).
    /// </summary>
    private static bool NamesNamespaceOf(string other, string text)
    {
        if (Regex.IsMatch(text, $@"\bMcpd\.Server\.{other}\b"))
        {
            return true;
        }

        var declared = DeclaredTypes(other);
        return Regex.Matches(text, $@"(?<![\w.]){other}\.([A-Z]\w*)").Any(match => declared.Contains(match.Groups[1].Value));
    }

    private static HashSet<string> DeclaredTypes(string folder) =>
        [.. Directory.EnumerateFiles(Path.Combine(Source, folder), "*.cs", SearchOption.AllDirectories)
            .SelectMany(file => TypeDeclaration().Matches(File.ReadAllText(file)))
            .Select(match => match.Groups[1].Value)];

    /// <summary>A cycle as the folders along it (the first repeated at the end), or null.</summary>
    private static List<string>? FindCycle(Dictionary<string, SortedSet<string>> uses)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();
        foreach (var folder in uses.Keys.Order(StringComparer.Ordinal))
        {
            if (Visit(folder) is { } cycle)
            {
                return cycle;
            }
        }

        return null;

        List<string>? Visit(string folder)
        {
            var onPath = path.IndexOf(folder);
            if (onPath >= 0)
            {
                return [.. path[onPath..], folder];
            }

            if (!done.Add(folder))
            {
                return null;
            }

            path.Add(folder);
            foreach (var used in uses[folder])
            {
                if (Visit(used) is { } cycle)
                {
                    return cycle;
                }
            }

            path.RemoveAt(path.Count - 1);
            return null;
        }
    }

    private static string Describe(Dictionary<string, SortedSet<string>> uses) =>
        string.Join("\n", uses.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => $"{pair.Key} -> {string.Join(" ", pair.Value)}"));

    [GeneratedRegex(@"\b(?:class|struct|interface|enum|record(?: struct| class)?)\s+([A-Z]\w*)")]
    private static partial Regex TypeDeclaration();
}
