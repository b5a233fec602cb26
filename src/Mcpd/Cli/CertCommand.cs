using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mcpd.Server.Security;

namespace Mcpd.Cli;

/// <summary>
/// <c>mcpd cert ca|server|client</c>: a development PKI as PEM files (docs/security.md), so TLS and Modbus/TCP
/// Security can be tried in a minute: a CA, a server certificate for some hosts, client certificates with a role.
/// Files that exist are never overwritten without <c>--force</c>; every failure is one line and exit code 2.
/// </summary>
internal static class CertCommand
{
    private const string AuthorityFile = "ca";

    public static Command Create() => new("cert", "Make development certificates: a CA, a server certificate, client certificates with a Modbus role")
    {
        CreateAuthority(),
        CreateServer(),
        CreateClient(),
    };

    private static Command CreateAuthority()
    {
        var output = new OutputOptions();
        var name = new Option<string>("--name") { Description = "The CA's name (its common name)", DefaultValueFactory = _ => "mcpd development CA" };
        var command = new Command("ca", $"Make a CA: {AuthorityFile}.pem and {AuthorityFile}.key, which sign the server and client certificates") { name };
        output.AddTo(command);
        command.SetAction(result => output.Write(result, AuthorityFile, validity => DevelopmentCertificates.CreateAuthority(result.GetRequiredValue(name), validity), () =>
        {
            var next = output.DirectoryOf(result) is { } directory ? $" --out {directory}" : "";
            Console.WriteLine($"next: the server's certificate: mcpd cert server{next} --host HOST ... (without --host: localhost, 127.0.0.1, ::1)");
            Console.WriteLine($"      a client's certificate:   mcpd cert client NAME{next} --role ROLE (its Modbus/TCP Security role)");
        }));
        return command;
    }

    private static Command CreateServer()
    {
        var output = new OutputOptions();
        var authority = new AuthorityOptions(output);
        var hosts = new Option<string[]>("--host")
        {
            Description = "A DNS name or IP address clients use to reach the server (repeatable)",
            DefaultValueFactory = _ => ["localhost", "127.0.0.1", "::1"],
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("server", "Make a server certificate signed by the CA: server.pem and server.key") { hosts };
        authority.AddTo(command);
        output.AddTo(command);
        command.SetAction(result => authority.Issue(result, "server", (ca, validity) => DevelopmentCertificates.CreateServer(ca, result.GetRequiredValue(hosts), validity)));
        return command;
    }

    private static Command CreateClient()
    {
        var output = new OutputOptions();
        var authority = new AuthorityOptions(output);
        var name = new Argument<string>("name")
        {
            Description = "The client's name: its common name, and the files NAME.pem and NAME.key",
            CustomParser = result =>
            {
                var text = result.Tokens[^1].Value;
                if (text.Length == 0 || text.StartsWith('.') || text.IndexOfAny(['/', '\\']) >= 0)
                {
                    result.AddError($"<name>: '{text}' cannot name the files NAME.pem and NAME.key (no path, no leading dot: --out chooses the directory)");
                }

                return text;
            },
        };
        var role = new Option<string?>("--role")
        {
            Description = "The client's Modbus/TCP Security role, for example Operator (default: none)",
            CustomParser = result =>
            {
                var text = result.Tokens[^1].Value;
                if (text.Length == 0)
                {
                    result.AddError("--role: give the role's name, for example Operator (without --role the client has no role)");
                }

                return text;
            },
        };
        var command = new Command("client", "Make a client certificate signed by the CA, with a role: NAME.pem and NAME.key") { name, role };
        authority.AddTo(command);
        output.AddTo(command);
        command.SetAction(result =>
        {
            var clientName = result.GetRequiredValue(name);
            return authority.Issue(result, clientName, (ca, validity) => DevelopmentCertificates.CreateClient(ca, clientName, result.GetValue(role), validity));
        });
        return command;
    }

    /// <summary>Where and for how long: <c>--out</c>, <c>--days</c>, <c>--force</c>; writes a certificate and its key.</summary>
    private sealed class OutputOptions
    {
        private readonly Option<string?> _directory = new("--out") { Description = "The directory to write to (made if missing; default: the current directory)" };

        private readonly Option<int> _days = new("--days")
        {
            Description = "Days of validity (a certificate never outlives its CA)",
            DefaultValueFactory = _ => 365,
            CustomParser = CliValues.Integer("a number of days", 1, 36500),
        };

        private readonly Option<bool> _force = new("--force") { Description = "Overwrite files that exist" };

        public void AddTo(Command command)
        {
            command.Options.Add(_directory);
            command.Options.Add(_days);
            command.Options.Add(_force);
        }

        /// <summary>The directory given with <c>--out</c>, or null for the current directory.</summary>
        public string? DirectoryOf(ParseResult result) => result.GetValue(_directory);

        /// <summary>The path of <paramref name="file"/> in the output directory, as the user would write it.</summary>
        public string PathOf(ParseResult result, string file) => DirectoryOf(result) is { } directory ? Path.Combine(directory, file) : file;

        /// <summary>
        /// Makes the certificate with <c>--days</c> of validity and writes it as BASE.pem and BASE.key, one line per file,
        /// then runs <paramref name="afterwards"/>; refuses before making anything when a file exists without <c>--force</c>,
        /// and says why <paramref name="create"/> refused (its <see cref="ArgumentException"/>: a name, a host, the CA).
        /// </summary>
        public int Write(ParseResult result, string baseName, Func<TimeSpan, X509Certificate2> create, Action? afterwards = null)
        {
            var certificatePath = PathOf(result, baseName + ".pem");
            var keyPath = PathOf(result, baseName + ".key");
            if (!result.GetValue(_force) && new[] { certificatePath, keyPath }.FirstOrDefault(File.Exists) is { } existing)
            {
                return Fail($"{existing} exists; --force overwrites it");
            }

            X509Certificate2 made;
            try
            {
                made = create(TimeSpan.FromDays(result.GetValue(_days)));
            }
            catch (ArgumentException ex)
            {
                return Fail(ex.Message);
            }

            using var certificate = made;
            try
            {
                if (DirectoryOf(result) is { } directory)
                {
                    Directory.CreateDirectory(directory);
                }

                DevelopmentCertificates.WritePem(certificate, certificatePath, keyPath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return Fail($"cannot write {baseName}.pem and {baseName}.key: {ex.Message}");
            }

            Console.WriteLine($"wrote {certificatePath}: certificate {certificate.Subject}, valid until {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd} (UTC){Describe(certificate)}");
            Console.WriteLine($"wrote {keyPath}: its private key, readable by its owner only");
            afterwards?.Invoke();
            return ExitCodes.Success;
        }

        /// <summary>What a reader checks first: a server's hosts, a client's role.</summary>
        private static string Describe(X509Certificate2 certificate)
        {
            if (certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault() is { } names)
            {
                return $", for {string.Join(", ", names.EnumerateDnsNames().Concat(names.EnumerateIPAddresses().Select(a => a.ToString())))}";
            }

            return ModbusRoleExtension.RoleOf(certificate) is { } role ? $", role {role}" : "";
        }
    }

    /// <summary>The signing CA: <c>--ca</c> and <c>--ca-key</c>, by default ca.pem and ca.key in the output directory.</summary>
    private sealed class AuthorityOptions(OutputOptions output)
    {
        private readonly Option<string?> _certificate = new("--ca") { Description = $"The CA's certificate (default: {AuthorityFile}.pem in the --out directory)" };

        private readonly Option<string?> _key = new("--ca-key") { Description = $"The CA's private key (default: {AuthorityFile}.key in the --out directory)" };

        public void AddTo(Command command)
        {
            command.Options.Add(_certificate);
            command.Options.Add(_key);
        }

        /// <summary>Loads the CA, then writes BASE.pem and BASE.key with the certificate <paramref name="create"/> makes with it.</summary>
        public int Issue(ParseResult result, string baseName, Func<X509Certificate2, TimeSpan, X509Certificate2> create)
        {
            var certificatePath = result.GetValue(_certificate) ?? output.PathOf(result, AuthorityFile + ".pem");
            var keyPath = result.GetValue(_key) ?? output.PathOf(result, AuthorityFile + ".key");
            foreach (var (path, what) in new[] { (certificatePath, "certificate"), (keyPath, "private key") })
            {
                if (!File.Exists(path))
                {
                    return Fail($"no CA {what} at {path}: make a CA with mcpd cert ca, or name yours with --ca and --ca-key");
                }
            }

            X509Certificate2 authority;
            try
            {
                authority = DevelopmentCertificates.Load(certificatePath, keyPath);
            }
            catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                return Fail($"cannot read the CA from {certificatePath} and {keyPath}: {ex.Message}");
            }

            using (authority)
            {
                return output.Write(result, baseName, validity => create(authority, validity));
            }
        }
    }

    private static int Fail(string problem)
    {
        Console.Error.WriteLine($"mcpd: {problem}");
        return ExitCodes.BadConfiguration;
    }
}
