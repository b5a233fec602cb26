using System.CommandLine;
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
};

// The host's console lifetime handles SIGINT/SIGTERM with a graceful drain; System.CommandLine must not cut it short.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
