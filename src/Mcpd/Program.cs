using System.CommandLine;
using Mcpd.Cli;

var root = new RootCommand("mcpd: a Modbus TCP server and device simulator, with a client for reading and writing devices")
{
    ServeCommand.Create(),
    ReadCommand.Create(),
    WriteCommand.Create(),
    ConfigCommand.Create(),
};

// The host's console lifetime handles SIGINT/SIGTERM with a graceful drain; System.CommandLine must not cut it short.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
