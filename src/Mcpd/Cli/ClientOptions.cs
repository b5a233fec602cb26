using System.CommandLine;
using Mcpd.Client;
using Mcpd.Server.Devices;

namespace Mcpd.Cli;

/// <summary>Arguments and options shared by <c>mcpd read</c> and <c>mcpd write</c>.</summary>
/// <param name="tables">The tables the command accepts (write: coils and holding registers only).</param>
/// <param name="tableNote">Said after the list when the table is not one of them.</param>
internal sealed class ClientOptions(RegisterTable[] tables, string? tableNote = null)
{
    public Argument<HostPort> Endpoint { get; } = Cli.Endpoint.Argument(Cli.Endpoint.DefaultModbusPort);

    public Option<byte> Unit { get; } = new("--unit", "-u")
    {
        Description = "Unit id (0..255)",
        DefaultValueFactory = _ => 1,
        CustomParser = CliValues.Integer<byte>("a unit id", 0, 255),
    };

    public Argument<RegisterTable> Table { get; } = new("table")
    {
        Description = string.Join(", ", tables.Select(t => t.ToString().ToLowerInvariant())),
        HelpName = CliValues.Names(tables),
        CustomParser = CliValues.OneOf(tables, tableNote),
    };

    public Argument<ushort> Address { get; } = new("address")
    {
        Description = "Zero-based address, 0..65535 (holding register 40001 is 0)",
        CustomParser = CliValues.Integer<ushort>("a zero-based address", 0, 65535),
    };

    public Option<bool> Json { get; } = new("--json") { Description = "Print JSON for scripts" };

    public Option<double> Timeout { get; } = new("--timeout")
    {
        Description = "Seconds to wait for the response",
        DefaultValueFactory = _ => 3,
        CustomParser = CliValues.Seconds(3600),
    };

    public ClientTlsFlags Tls { get; } = new();

    public Option<string?> Map { get; } = new("--map") { Description = "Register map (an mcpd config file) giving names, types and units" };

    public Option<Uri?> Admin { get; } = new("--admin")
    {
        Description = "The server's admin API (an mcpd server: http://HOST:8081), asked why when a request is refused",
        CustomParser = result => Uri.TryCreate(result.Tokens[^1].Value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : Invalid(result),
    };

    private static Uri? Invalid(System.CommandLine.Parsing.ArgumentResult result)
    {
        result.AddError($"{CliValues.NameOf(result)}: '{result.Tokens[^1].Value}' is not an http:// or https:// address");
        return null;
    }
}
