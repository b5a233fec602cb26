using Mcpd.Interop.Tests;
using Mcpd.Testing;

[assembly: AssemblyFixture(typeof(InteropTools))]

namespace Mcpd.Interop.Tests;

/// <summary>
/// Makes sure the third-party Modbus clients exist before any test runs, installing the Debian packages
/// <c>mbpoll</c> and <c>python3-pymodbus</c> with apt-get when they are missing (CI: a fresh Debian 12 machine,
/// root, no terminal). When they cannot be installed, every test of the assembly fails with the reason.
/// </summary>
public sealed class InteropTools : IAsyncLifetime
{
    /// <summary>Debian's interpreter, which sees python3-pymodbus; a python3 earlier on PATH (pyenv) would not.</summary>
    public const string Python = "/usr/bin/python3";

    public const string Mbpoll = "/usr/bin/mbpoll";

    /// <summary>Debian's openssl, whose s_client is the independent TLS client of the handshake tests.</summary>
    public const string OpenSsl = "/usr/bin/openssl";

    /// <summary>The pymodbus version <see cref="Python"/> imports, e.g. 3.0.0 on Debian 12.</summary>
    public string PymodbusVersion { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var missing = await FindMissingPackagesAsync();
        if (missing.Count == 0)
        {
            return;
        }

        var log = await DebianPackages.InstallAsync(missing);
        missing = await FindMissingPackagesAsync();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"The interop tests need the Debian packages {string.Join(", ", missing)} and could not install them "
                + "(apt-get must exist and the tests must run as root). apt-get said:\n"
                + string.Join('\n', log));
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<List<string>> FindMissingPackagesAsync()
    {
        var missing = new List<string>();
        if (!File.Exists(Mbpoll))
        {
            missing.Add("mbpoll");
        }

        if (!File.Exists(OpenSsl))
        {
            missing.Add("openssl");
        }

        var probe = File.Exists(Python)
            ? await ProcessRunner.RunAsync(Python, ["-I", "-c", "import pymodbus, pymodbus.client; print(pymodbus.__version__)"])
            : null;
        if (probe is { Succeeded: true })
        {
            PymodbusVersion = probe.StandardOutput.Trim();
        }
        else
        {
            missing.Add("python3-pymodbus");
        }

        return missing;
    }
}
