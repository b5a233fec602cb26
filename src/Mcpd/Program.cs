using System.CommandLine;
using System.CommandLine.Invocation;
using Mcpd.Cli;

var root = new RootCommand("mcpd: a Modbus TCP and MCP server and device simulator, with clients for both protocols")
{
    ServeCommand.Create(),
    ReadCommand.Create(),
    WriteCommand.Create(),
    McpCommands.CreateCall(),
    McpCommands.CreatePing(),
    BenchCommand.Create(),
    ConfigCommand.Create(),
    CertCommand.Create(),
    TokenCommand.Create(),
    AgentCommand.Create(),
};

var parsed = root.Parse(args);
if (parsed.Action is ParseErrorAction)
{
    // One line per problem and the usage line, instead of System.CommandLine's errors followed by the whole help.
    return CliValues.PrintUsageErrors(parsed);
}

// The host's console lifetime handles SIGINT/SIGTERM with a graceful drain; System.CommandLine must not cut it short.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
