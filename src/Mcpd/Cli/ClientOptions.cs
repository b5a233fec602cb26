using System.CommandLine;
using Mcpd.Client;
using Mcpd.Server.Devices;

namespace Mcpd.Cli;

/// <summary>Arguments and options shared by <c>mcpd read</c> and <c>mcpd write</c>.</summary>
internal sealed class ClientOptions
{
    public Argument<HostPort> Endpoint { get; } = Cli.Endpoint.Argument(Cli.Endpoint.DefaultModbusPort);

    public Option<byte> Unit { get; } = new("--unit", "-u") { Description = "Unit id", DefaultValueFactory = _ => 1 };

    public Argument<RegisterTable> Table { get; } = new("table")
    {
        Description = "coils, discrete, holding or input",
        HelpName = "coils|discrete|holding|input",
        CustomParser = result => Parse(result, text => Enum.Parse<RegisterTable>(text, ignoreCase: true)),
    };

    public Argument<ushort> Address { get; } = new("address") { Description = "Zero-based address (holding register 40001 is 0)" };

    public Option<bool> Json { get; } = new("--json") { Description = "Print JSON for scripts" };

    public Option<double> Timeout { get; } = new("--timeout") { Description = "Seconds to wait for the response", DefaultValueFactory = _ => 3 };

    public Option<string?> Map { get; } = new("--map") { Description = "Register map (an mcpd config file) giving names, types and units" };

    private static T Parse<T>(System.CommandLine.Parsing.ArgumentResult result, Func<string, T> parse)
    {
        var text = result.Tokens.Single().Value;
        try
        {
            return parse(text);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            result.AddError(ex is FormatException ? ex.Message : $"'{text}' is not one of: {string.Join(", ", Enum.GetNames<RegisterTable>()).ToLowerInvariant()}.");
            return default!;
        }
    }
}
