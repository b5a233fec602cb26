using System.ComponentModel;

namespace Mcpd.Testing;

/// <summary>
/// Installs Debian packages a test needs with apt-get (CI: a fresh Debian 12 machine, root, no terminal, package lists
/// possibly empty or stale).
/// </summary>
public static class DebianPackages
{
    private const string AptGet = "/usr/bin/apt-get";
    private static readonly TimeSpan AptTimeout = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Runs <c>apt-get install -y</c>, and when that fails refreshes the package lists once (<c>apt-get update</c>) and
    /// tries again; returns what apt-get said, for the caller's error message when the packages are still missing.
    /// </summary>
    public static async Task<IReadOnlyList<ProcessResult>> InstallAsync(IReadOnlyCollection<string> packages)
    {
        var log = new List<ProcessResult>();
        var install = await AptAsync(log, ["install", "-y", .. packages]);
        if (!install.Succeeded)
        {
            await AptAsync(log, ["update"]);
            await AptAsync(log, ["install", "-y", .. packages]);
        }

        return log;
    }

    private static async Task<ProcessResult> AptAsync(List<ProcessResult> log, string[] arguments)
    {
        ProcessResult result;
        try
        {
            // A fresh machine may still run unattended upgrades: wait for the dpkg lock rather than fail.
            result = await ProcessRunner.RunAsync(
                AptGet,
                ["-o", "DPkg::Lock::Timeout=300", .. arguments],
                AptTimeout,
                new Dictionary<string, string> { ["DEBIAN_FRONTEND"] = "noninteractive" });
        }
        catch (Win32Exception e)
        {
            result = new ProcessResult($"{AptGet} {string.Join(' ', arguments)}", -1, false, "", $"cannot start {AptGet}: {e.Message}");
        }

        log.Add(result);
        return result;
    }
}
