using System.CommandLine;
using System.Net.Sockets;
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
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for the response", DefaultValueFactory = _ => 5 };
        var crc = CrcOption();
        var command = new Command("call", "Call an MCP method and print the status, headers and body")
        {
            endpoint, method, headers, body, bodyHex, bodyFile, timeout, crc,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var target = result.GetRequiredValue(endpoint);
            return await RunAsync(target, result.GetValue(timeout), FramingOf(result, crc), async client =>
            {
                var payload = ReadBody(result.GetValue(body), result.GetValue(bodyHex), result.GetValue(bodyFile));
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
        var count = new Option<int>("--count", "-c") { Description = "How many PINGs", DefaultValueFactory = _ => 4 };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait for each PONG", DefaultValueFactory = _ => 5 };
        var crc = CrcOption();
        var command = new Command("ping", "Send MCP PINGs and print the round-trip times") { endpoint, count, timeout, crc };
        command.SetAction(async (result, cancellationToken) =>
        {
            var target = result.GetRequiredValue(endpoint);
            return await RunAsync(target, result.GetValue(timeout), FramingOf(result, crc), async client =>
            {
                for (var i = 1; i <= result.GetValue(count); i++)
                {
                    var rtt = await client.PingAsync(cancellationToken);
                    Console.WriteLine($"PONG from {target}: seq={i} time={rtt.TotalMilliseconds:F3} ms");
                }

                return ExitCodes.Success;
            }, cancellationToken);
        });
        return command;
    }

    /// <summary><c>--crc</c>: speak the 0x5A CRC framing, for a server's CRC listener (<c>mcp:crcPort</c>).</summary>
    public static Option<bool> CrcOption() => new("--crc") { Description = "Wrap every frame in the 0x5A CRC framing (for a CRC listener, mcp:crcPort)" };

    public static McpFraming FramingOf(ParseResult result, Option<bool> crc) => result.GetValue(crc) ? McpFraming.Crc : McpFraming.Plain;

    private static async Task<int> RunAsync(HostPort endpoint, double timeoutSeconds, McpFraming framing, Func<McpClient, Task<int>> action, CancellationToken cancellationToken)
    {
        var options = new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(timeoutSeconds), ConnectTimeout = TimeSpan.FromSeconds(timeoutSeconds), Framing = framing };
        try
        {
            await using var client = await McpClient.ConnectAsync(endpoint.Host, endpoint.Port, options, cancellationToken);
            return await action(client);
        }
        catch (SocketException ex)
        {
            await Console.Error.WriteLineAsync($"mcpd: cannot connect to {endpoint}: {ex.Message}");
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or FormatException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"mcpd: {endpoint}: {ex.Message}");
        }

        return ExitCodes.RequestFailed;
    }

    private static byte[] ReadBody(string? text, string? hex, string? file) =>
        hex is not null ? Convert.FromHexString(hex)
        : file is not null ? File.ReadAllBytes(file)
        : Encoding.UTF8.GetBytes(text ?? "");

    /// <summary><c>--header key=value</c>, repeatable.</summary>
    public static Option<string[]> HeaderOption() => new("--header", "-H") { Description = "A header key=value (repeatable; keys are lowercase)", AllowMultipleArgumentsPerToken = false };

    public static KeyValuePair<string, string>[] ParseHeaders(string[] headers) =>
        [.. headers.Select(h => h.IndexOf('=', StringComparison.Ordinal) is > 0 and var i
            ? new KeyValuePair<string, string>(h[..i], h[(i + 1)..])
            : throw new ArgumentException($"Header '{h}' is not key=value."))];

    private static bool IsText(byte[] body) =>
        System.Text.Unicode.Utf8.IsValid(body) && !body.Any(b => b < 0x20 && b is not ((byte)'\n' or (byte)'\r' or (byte)'\t'));
}
