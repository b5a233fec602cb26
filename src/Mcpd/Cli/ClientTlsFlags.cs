using System.CommandLine;
using System.Security.Cryptography;
using Mcpd.Client;

namespace Mcpd.Cli;

/// <summary>
/// <c>--tls</c>, <c>--ca</c>, <c>--cert</c>, <c>--key</c>: TLS for the client commands (read, write, call, ping,
/// bench), read into the <see cref="ClientTlsOptions"/> every connection of the command shares.
/// </summary>
internal sealed class ClientTlsFlags
{
    private readonly Option<bool> _tls = new("--tls") { Description = "Speak TLS; the server's certificate must chain to --ca, or without it to the system's trusted roots" };

    private readonly Option<string?> _ca = new("--ca") { Description = "CA certificates (PEM) the server's certificate must chain to, and only to; implies --tls" };

    private readonly Option<string?> _certificate = new("--cert")
    {
        Description = "This client's certificate (PEM), presented when the server asks (on Modbus/TCP Security it carries the role); implies --tls",
    };

    private readonly Option<string?> _key = new("--key") { Description = "The private key of --cert (PEM); left out, --cert's file holds it" };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _tls, _ca, _certificate, _key })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>
    /// The TLS the flags ask for: null when none is given (plain TCP). False, with the problem in one line, when a
    /// file is missing or unusable, or --key comes without --cert.
    /// </summary>
    public bool TryRead(ParseResult result, out ClientTlsOptions? tls, out string problem)
    {
        var (ca, certificate, key) = (result.GetValue(_ca), result.GetValue(_certificate), result.GetValue(_key));
        tls = null;
        problem = "";
        if (key is not null && certificate is null)
        {
            problem = "--key: give the certificate it belongs to with --cert";
            return false;
        }

        if (!result.GetValue(_tls) && ca is null && certificate is null)
        {
            return true;
        }

        try
        {
            tls = ClientTlsOptions.FromFiles(ca, certificate, key);
            return true;
        }
        catch (Exception ex) when (ex is IOException or CryptographicException)
        {
            // The message names the file and what is wrong with it.
            problem = ex.Message.TrimEnd('.');
            return false;
        }
    }
}
