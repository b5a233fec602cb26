using System.CommandLine;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Mcpd.Client;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;

namespace Mcpd.Cli;

/// <summary><c>mcpd call</c> and <c>mcpd ping</c>: talk MCP to a server.</summary>
internal static class McpCommands
{
    public static Command CreateCall()
    {
        var endpoint = Endpoint.Argument(Endpoint.DefaultMcpPort);
        var method = new Argument<string>("method") { Description = "The method, for example sys.echo, sys.info, modbus.pdu" };
        var headers = HeaderOption();
        var body = new Option<string?>("--body", "-b") { Description = "The body, as text" };
        var bodyHex = new Option<string?>("--body-hex") { Description = "The body, as hex (for binary bodies such as Modbus PDUs)" };
        var bodyFile = new Option<string?>("--body-file") { Description = "The body, from a file" };
        var timeout = TimeoutOption("Seconds to wait for the response");
        var crc = CrcOption();
        var tls = new ClientTlsFlags();
        var command = new Command("call", "Call an MCP method and print the status, headers and body")
        {
            endpoint, method, headers, body, bodyHex, bodyFile, timeout, crc,
        };
        tls.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var target = result.GetRequiredValue(endpoint);
            var bodies = new[] { body, bodyHex, bodyFile }.Where(option => result.GetValue(option) is not null).Select(option => option.Name).ToList();
            if (bodies.Count > 1)
            {
                return CliValues.RefuseUsage(result, $"{string.Join(" and ", bodies)}: give the body once (--body, --body-hex or --body-file)");
            }

            byte[] payload;
            try
            {
                payload = ReadBody(result.GetValue(body), result.GetValue(bodyHex), result.GetValue(bodyFile));
            }
            catch (FormatException ex)
            {
                return CliValues.RefuseUsage(result, ex.Message);
            }
            catch (IOException ex)
            {
                return CliValues.RefuseUsage(result, $"--body-file: {ex.Message}");
            }

            if (!tls.TryRead(result, out var tlsOptions, out var tlsProblem))
            {
                return CliValues.RefuseUsage(result, tlsProblem);
            }

            return await RunAsync(target, result.GetValue(timeout), FramingOf(result, crc), tlsOptions, async client =>
            {
                var response = await client.CallAsync(result.GetRequiredValue(method), payload, ParseHeaders(result.GetValue(headers) ?? []), cancellationToken);
                Console.WriteLine($"status: {(ushort)response.Status} {McpStatusNames.Of(response.Status)}");
                foreach (var (key, value) in response.Headers)
                {
                    Console.WriteLine($"{key}: {value}");
                }

                Console.WriteLine();
                Console.WriteLine(IsText(response.Body) ? response.BodyText : Convert.ToHexString(response.Body));
                return response.Status == McpStatus.Ok ? ExitCodes.Success : ExitCodes.RequestFailed;
            }, cancellationToken);
        });
        return command;
    }

    public static Command CreatePing()
    {
        var endpoint = Endpoint.Argument(Endpoint.DefaultMcpPort);
        var count = new Option<int>("--count", "-c")
        {
            Description = "How many PINGs",
            DefaultValueFactory = _ => 4,
            CustomParser = CliValues.Integer("a number of PINGs", 1, 1_000_000),
        };
        var interval = new Option<double>("--interval", "-i")
        {
            Description = "Seconds between PINGs",
            DefaultValueFactory = _ => 1,
            CustomParser = CliValues.Seconds(3600),
        };
        var timeout = TimeoutOption("Seconds to wait for each PONG");
        var crc = CrcOption();
        var tls = new ClientTlsFlags();
        var command = new Command("ping", "Send MCP PINGs, print each round-trip time and a summary as ping(8) does") { endpoint, count, interval, timeout, crc };
        tls.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var target = result.GetRequiredValue(endpoint);
            if (!tls.TryRead(result, out var tlsOptions, out var tlsProblem))
            {
                return CliValues.RefuseUsage(result, tlsProblem);
            }

            return await RunAsync(target, result.GetValue(timeout), FramingOf(result, crc), tlsOptions, async client =>
            {
                var times = new List<double>();
                var sent = 0;
                TimeoutException? lastTimeout = null;
                for (var i = 1; i <= result.GetValue(count) && !cancellationToken.IsCancellationRequested; i++)
                {
                    if (i > 1)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(result.GetValue(interval)), cancellationToken);
                    }

                    sent++;
                    try
                    {
                        var rtt = (await client.PingAsync(cancellationToken)).TotalMilliseconds;
                        times.Add(rtt);
                        Console.WriteLine($"PONG from {target}: seq={i} time={rtt:F3} ms");
                    }
                    catch (TimeoutException ex)
                    {
                        lastTimeout = ex;
                        Console.WriteLine($"no PONG from {target}: seq={i} (none within {result.GetValue(timeout)} s)");
                    }
                }

                Console.WriteLine($"--- {target} MCP ping statistics ---");
                Console.WriteLine($"{sent} sent, {times.Count} received, {(sent - times.Count) * 100 / Math.Max(1, sent)}% lost");
                if (times.Count > 0)
                {
                    Console.WriteLine($"rtt min/avg/max = {times.Min():F3}/{times.Average():F3}/{times.Max():F3} ms");
                }
                else if (lastTimeout is not null)
                {
                    // Not one PONG: the client's message says what it knows (a CRC-framed port, for one).
                    await Console.Error.WriteLineAsync($"mcpd: {lastTimeout.Message}");
                }

                return times.Count == sent ? ExitCodes.Success : ExitCodes.RequestFailed;
            }, cancellationToken);
        });
        return command;
    }

    /// <summary><c>--crc</c>: speak the 0x5A CRC framing, for a server's CRC listener (<c>mcp:crcPort</c>).</summary>
    public static Option<bool> CrcOption() => new("--crc") { Description = "Wrap every frame in the 0x5A CRC framing (for a CRC listener, mcp:crcPort)" };

    public static McpFraming FramingOf(ParseResult result, Option<bool> crc) => result.GetValue(crc) ? McpFraming.Crc : McpFraming.Plain;

    private static async Task<int> RunAsync(HostPort endpoint, double timeoutSeconds, McpFraming framing, ClientTlsOptions? tls, Func<McpClient, Task<int>> action, CancellationToken cancellationToken)
    {
        var options = new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(timeoutSeconds), ConnectTimeout = TimeSpan.FromSeconds(timeoutSeconds), Framing = framing, Tls = tls };
        try
        {
            await using var client = await McpClient.ConnectAsync(endpoint.Host, endpoint.Port, options, cancellationToken);
            return await action(client);
        }
        catch (SocketException ex)
        {
            await Console.Error.WriteLineAsync(CliValues.CannotConnect(endpoint, ex));
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or AuthenticationException)
        {
            // The client's messages name the server and what the connection was doing (a TLS refusal: which side and why).
            await Console.Error.WriteLineAsync($"mcpd: {ex.Message}");
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"mcpd: not sent: {ex.Message}");
        }

        return ExitCodes.RequestFailed;
    }

    private static Option<double> TimeoutOption(string description) => new("--timeout")
    {
        Description = description,
        DefaultValueFactory = _ => 5,
        CustomParser = CliValues.Seconds(3600),
    };

    private static byte[] ReadBody(string? text, string? hex, string? file) =>
        hex is not null ? ParseHex(hex)
        : file is not null ? File.ReadAllBytes(file)
        : Encoding.UTF8.GetBytes(text ?? "");

    /// <summary>Hex bytes as people write them: <c>0300000002</c>, <c>03 00 00 00 02</c>, <c>0x03 0x00</c>, <c>03:00</c>.</summary>
    private static byte[] ParseHex(string text)
    {
        var digits = new StringBuilder(text.Length);
        foreach (var token in text.Split([' ', '\t', ':', ',', '-'], StringSplitOptions.RemoveEmptyEntries))
        {
            digits.Append(token.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? token.AsSpan(2) : token);
        }

        try
        {
            return Convert.FromHexString(digits.ToString());
        }
        catch (FormatException)
        {
            throw new FormatException($"--body-hex: '{text}' is not hex bytes (pairs of 0-9 a-f; spaces, ':' and 0x prefixes are allowed)");
        }
    }

    /// <summary>Null for an OK response; else its status and the error body's message (for <c>mcpd bench</c>).</summary>
    public static string? ProblemOf(McpResponse response) =>
        response.Status == McpStatus.Ok ? null
        : McpErrorBody.TryReadMessage(response.Body, out var message) ? $"{McpStatusNames.Of(response.Status)}: {message}"
        : McpStatusNames.Of(response.Status);

    /// <summary><c>--header key=value</c>, repeatable.</summary>
    public static Option<string[]> HeaderOption() => new("--header", "-H") { Description = "A header key=value (repeatable; keys are lowercase)", AllowMultipleArgumentsPerToken = false };

    public static KeyValuePair<string, string>[] ParseHeaders(string[] headers) =>
        [.. headers.Select(h => h.IndexOf('=', StringComparison.Ordinal) is > 0 and var i
            ? new KeyValuePair<string, string>(h[..i], h[(i + 1)..])
            : throw new ArgumentException($"Header '{h}' is not key=value."))];

    private static bool IsText(byte[] body) =>
        System.Text.Unicode.Utf8.IsValid(body) && !body.Any(b => b < 0x20 && b is not ((byte)'\n' or (byte)'\r' or (byte)'\t'));
}
