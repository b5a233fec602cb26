using Mcpd.Testing;

namespace Mcpd.Server.Tests.Security;

/// <summary>
/// openssl, the independent judge of the certificates mcpd makes, installed with apt-get (Debian package openssl)
/// when missing; without it the tests that need it fail with apt-get's reason.
/// </summary>
internal static class OpenSsl
{
    private const string Executable = "/usr/bin/openssl";

    public static async Task<ProcessResult> RunAsync(params string[] arguments)
    {
        await DebianPackages.EnsureAsync("openssl", [Executable], "the certificate tests");
        return await ProcessRunner.RunAsync(Executable, arguments);
    }
}
