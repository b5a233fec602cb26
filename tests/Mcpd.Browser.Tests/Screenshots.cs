namespace Mcpd.Browser.Tests;

/// <summary>
/// Where the tests' screenshots go: <c>screenshots/</c> in the test output folder, always; and into the repository's
/// <c>docs/images/</c>, which the README and docs/dashboard.md show, when <c>MCPD_DOCS_SCREENSHOTS=1</c> (so the
/// pictures in the docs are made by the tests and stay true, while an ordinary test run leaves the tree alone).
/// </summary>
internal static class Screenshots
{
    private static readonly string Folder = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "screenshots")).FullName;

    public static string PathOf(string name) => Path.Combine(Folder, $"{name}.png");

    public static void Publish(string path)
    {
        if (Environment.GetEnvironmentVariable("MCPD_DOCS_SCREENSHOTS") != "1")
        {
            return;
        }

        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "mcpd.slnx")))
        {
            root = root.Parent;
        }

        if (root is null)
        {
            throw new InvalidOperationException($"MCPD_DOCS_SCREENSHOTS=1 but no mcpd.slnx above {AppContext.BaseDirectory}");
        }

        var images = Directory.CreateDirectory(Path.Combine(root.FullName, "docs", "images"));
        File.Copy(path, Path.Combine(images.FullName, Path.GetFileName(path)), overwrite: true);
    }
}
