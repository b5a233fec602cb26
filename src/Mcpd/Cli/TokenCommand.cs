using System.CommandLine;
using Mcpd.Server.Admin;

namespace Mcpd.Cli;

/// <summary>
/// <c>mcpd token hash</c>: the hex SHA-256 that <c>admin:tokens:N:sha256</c> holds, of a token read from stdin (never
/// an argument: the process list and the shell's history would show it). <c>--generate</c>: a new random token and its
/// hash. docs/security.md.
/// </summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var generate = new Option<bool>("--generate") { Description = $"Make a new random token ({AdminTokens.GeneratedBytes} bytes, base64url) and print it with its hash" };
        var hash = new Command("hash", "Print the SHA-256 of a token read from stdin, for admin:tokens:N:sha256; the token stays out of the configuration") { generate };
        hash.SetAction(async (result, cancellationToken) =>
        {
            if (result.GetValue(generate))
            {
                var token = AdminTokens.Generate();
                await Console.Out.WriteLineAsync($"token:  {token}\nsha256: {AdminTokens.Hash(token)}".AsMemory(), cancellationToken);
                return ExitCodes.Success;
            }

            if (!Console.IsInputRedirected)
            {
                await Console.Error.WriteLineAsync("Token (then Enter):".AsMemory(), cancellationToken);
            }

            // A bearer token has no white space (RFC 6750 2.1: b64token), so what surrounds a pasted one is not part of it.
            var line = (await Console.In.ReadLineAsync(cancellationToken))?.Trim();
            if (string.IsNullOrEmpty(line))
            {
                return CliValues.RefuseUsage(result, "no token on stdin: pipe one in (printf %s \"$TOKEN\" | mcpd token hash), or make one with --generate");
            }

            await Console.Out.WriteLineAsync(AdminTokens.Hash(line).AsMemory(), cancellationToken);
            return ExitCodes.Success;
        });
        return new Command("token", "Tokens of the HTTP admin API") { hash };
    }
}
