using System.ComponentModel;

namespace Mcpd.Testing;

/// <summary>
/// Installs Debian packages a test needs with apt-get when they are missing (CI: a fresh Debian 12 machine, root, no
/// terminal): install, and when that fails, refresh the package lists once and install again.
/// </summary>
public static class DebianPackages
{
    private const string AptGet = "/usr/bin/apt-get";
    private static readonly TimeSpan AptTimeout = TimeSpan.FromMinutes(10);

    /// <summary>One installation at a time: tests that need the same package wait for the first to install it.</summary>
    private static readonly SemaphoreSlim InstallOne = new(1, 1);

    /// <summary>
    /// Makes sure <paramref name="files"/> exist, installing <paramref name="package"/> when one is missing; throws,
    /// saying who needs it (<paramref name="neededBy"/>: "the RTU tests") and what apt-get said, when they still do not.
    /// </summary>
    public static async Task EnsureAsync(string package, IReadOnlyList<string> files, string neededBy)
    {
        await InstallOne.WaitAsync();
        try
        {
            if (files.All(File.Exists))
            {
                return;
            }

            var log = await InstallAsync([package]);
            if (!files.All(File.Exists))
            {
                throw new InvalidOperationException(
                    $"{neededBy}: the Debian package {package} is missing and could not be installed (apt-get must exist "
                    + "and the tests must run as root). apt-get said:\n" + string.Join('\n', log));
            }
        }
        finally
        {
            InstallOne.Release();
        }
    }

    /// <summary>Installs <paramref name="packages"/>; returns what apt-get said, for the failure message.</summary>
    public static async Task<IReadOnlyList<ProcessResult>> InstallAsync(IReadOnlyList<string> packages)
    {
        var log = new List<ProcessResult>();
        var install = await AptAsync(log, ["install", "-y", .. packages]);
        if (!install.Succeeded)
        {
            // A fresh machine may have empty or stale package lists; refresh them once and retry.
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
