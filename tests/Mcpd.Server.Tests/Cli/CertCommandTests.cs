using System.Runtime.Versioning;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Mcpd.Server.Security;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Cli;

/// <summary>
/// <c>mcpd cert</c> as a user runs it: a CA, a server and a client certificate in a directory, the keys readable by
/// their owner only; files that exist kept unless <c>--force</c>; a missing or unusable CA, a bad host or a bad name
/// said in one line with exit code 2.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class CertCommandTests : IDisposable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-cert-").FullName;

    private string PathOf(string file) => Path.Combine(_directory, file);

    [Fact]
    public async Task Ca_server_and_client_write_a_certificate_and_an_owner_only_key_each()
    {
        var ca = await CliTests.Mcpd("cert", "ca", "--out", _directory);
        var server = await CliTests.Mcpd("cert", "server", "--out", _directory, "--host", "plc.example", "--host", "10.1.2.3");
        var client = await CliTests.Mcpd("cert", "client", "alice", "--role", "Operator", "--out", _directory, "--days", "30");

        Assert.True(ca.Succeeded, ca.ToString());
        Assert.True(server.Succeeded, server.ToString());
        Assert.True(client.Succeeded, client.ToString());
        Assert.Contains($"wrote {PathOf("ca.pem")}: certificate CN=mcpd development CA, valid until ", ca.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"wrote {PathOf("ca.key")}: its private key", ca.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"mcpd cert server --out {_directory} --host HOST", ca.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"mcpd cert client NAME --out {_directory} --role ROLE", ca.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(", for plc.example, 10.1.2.3", server.StandardOutput, StringComparison.Ordinal);
        Assert.Matches($@"^wrote {Regex.Escape(PathOf("alice.pem"))}: certificate CN=alice, valid until \d{{4}}-\d\d-\d\d \(UTC\), role Operator\n", client.StandardOutput);
        Assert.Equal(2, client.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        foreach (var name in new[] { "ca", "server", "alice" })
        {
            Assert.Equal(OwnerOnly, File.GetUnixFileMode(PathOf(name + ".key")));
            using var certificate = DevelopmentCertificates.Load(PathOf(name + ".pem"), PathOf(name + ".key"));
            Assert.True(certificate.HasPrivateKey);
        }

        using var authority = X509CertificateLoader.LoadCertificateFromFile(PathOf("ca.pem"));
        using var alice = X509CertificateLoader.LoadCertificateFromFile(PathOf("alice.pem"));
        Assert.Equal("Operator", ModbusRoleExtension.RoleOf(alice));
        Assert.Equal(authority.Subject, alice.Issuer);
        Assert.InRange(alice.NotAfter.ToUniversalTime(), DateTime.UtcNow.AddDays(30).AddMinutes(-1), DateTime.UtcNow.AddDays(30));
    }

    [Fact]
    public async Task The_defaults_are_the_current_directory_and_the_three_local_hosts()
    {
        var ca = await InDirectoryAsync("cert", "ca");
        var server = await InDirectoryAsync("cert", "server");

        Assert.True(ca.Succeeded, ca.ToString());
        Assert.Contains("wrote ca.pem: ", ca.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("next: the server's certificate: mcpd cert server --host HOST", ca.StandardOutput, StringComparison.Ordinal);
        Assert.True(server.Succeeded, server.ToString());
        Assert.Contains("wrote server.pem: certificate CN=localhost, ", server.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(", for localhost, 127.0.0.1, ::1", server.StandardOutput, StringComparison.Ordinal);
        Assert.True(File.Exists(PathOf("server.key")));
    }

    [Fact]
    public async Task A_file_that_exists_is_kept_unless_force()
    {
        Assert.True((await CliTests.Mcpd("cert", "ca", "--out", _directory)).Succeeded);
        var first = await File.ReadAllTextAsync(PathOf("ca.pem"));

        var refused = await CliTests.Mcpd("cert", "ca", "--out", _directory);
        var kept = await File.ReadAllTextAsync(PathOf("ca.pem"));
        var forced = await CliTests.Mcpd("cert", "ca", "--out", _directory, "--force");

        Assert.Equal(2, refused.ExitCode);
        Assert.Equal($"mcpd: {PathOf("ca.pem")} exists; --force overwrites it\n", refused.StandardError);
        Assert.Equal(first, kept);
        Assert.True(forced.Succeeded, forced.ToString());
        Assert.NotEqual(first, await File.ReadAllTextAsync(PathOf("ca.pem")));
    }

    [Theory]
    [InlineData("server")]
    [InlineData("client|alice")]
    public async Task A_missing_CA_is_one_line_and_exit_code_2(string command)
    {
        var result = await CliTests.Mcpd(["cert", .. command.Split('|'), "--out", _directory]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"mcpd: no CA certificate at {PathOf("ca.pem")}: make a CA with mcpd cert ca, or name yours with --ca and --ca-key\n", result.StandardError);
        Assert.Empty(Directory.GetFiles(_directory));
    }

    [Fact]
    public async Task A_CA_key_that_is_no_key_or_another_CAs_is_one_line_and_exit_code_2()
    {
        Assert.True((await CliTests.Mcpd("cert", "ca", "--out", _directory)).Succeeded);
        Assert.True((await CliTests.Mcpd("cert", "ca", "--out", PathOf("other"))).Succeeded);
        await File.WriteAllTextAsync(PathOf("garbage.key"), "not a key\n");

        var garbage = await CliTests.Mcpd("cert", "client", "alice", "--out", _directory, "--ca-key", PathOf("garbage.key"));
        var mismatch = await CliTests.Mcpd("cert", "client", "alice", "--out", _directory, "--ca-key", PathOf("other/ca.key"));

        foreach (var result in new[] { garbage, mismatch })
        {
            Assert.Equal(2, result.ExitCode);
            Assert.StartsWith($"mcpd: cannot read the CA from {PathOf("ca.pem")} and ", result.StandardError, StringComparison.Ordinal);
            Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
    }

    [Fact]
    public async Task A_bad_host_or_a_name_that_is_a_path_is_refused()
    {
        Assert.True((await CliTests.Mcpd("cert", "ca", "--out", _directory)).Succeeded);

        var host = await CliTests.Mcpd("cert", "server", "--out", _directory, "--host", "plc 7");
        var name = await CliTests.Mcpd("cert", "client", "../alice", "--out", _directory);

        Assert.Equal(2, host.ExitCode);
        Assert.Equal("mcpd: 'plc 7' is neither an IP address nor a DNS name\n", host.StandardError);
        Assert.Equal(2, name.ExitCode);
        Assert.StartsWith("mcpd cert client: <name>: '../alice' cannot name the files NAME.pem and NAME.key", name.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(PathOf("server.pem")));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>mcpd run in the test's directory, as a user who typed no --out.</summary>
    private Task<ProcessResult> InDirectoryAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("bash", ["-c", $"cd \"$0\" && exec dotnet \"$1\" \"${{@:2}}\"", _directory, typeof(Mcpd.Cli.ExitCodes).Assembly.Location, .. arguments]);
}
