using System.Net.Sockets;
using Mcpd.Client.Modbus;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Cli;

/// <summary>
/// `mcpd serve` under a low open-file limit (prlimit): protocol connections stop short of it, so the ones already open
/// are served, the admin API's /healthz still answers, and what was refused is logged within the log budget.
/// </summary>
public sealed class OpenFileLimitTests : IDisposable
{
    private const int Limit = 700;

    private static readonly string McpdDll = typeof(Mcpd.Cli.ExitCodes).Assembly.Location;

    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-nofile-").FullName;

    [Fact]
    public async Task At_the_open_file_limit_new_connections_are_refused_with_a_log_line_and_healthz_and_open_connections_are_served()
    {
        var config = Path.Combine(_directory, "mcpd.yaml");
        await File.WriteAllTextAsync(config, "modbus:\n  port: 0\n  bind: 127.0.0.1\nmcp:\n  port: 0\n  bind: 127.0.0.1\nadmin:\n  port: 0\ndevices:\n  - unit: 1\n    registers:\n      - address: 0\n        name: level\n        value: 42\n", TestContext.Current.CancellationToken);
        var started = await McpdProcess.StartAsync(McpdDll, config, Limit);
        await using var server = started.Server;
        var modbusPort = started.ModbusPort;
        var adminPort = McpdProcess.ListenerPort(await server.WaitForOutputAsync("admin listening on"));
        await server.WaitForOutputAsync($"the open-file limit of {Limit} leaves room for");

        await using var first = await ModbusTcpClient.ConnectAsync("127.0.0.1", modbusPort);
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < Limit; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync("127.0.0.1", modbusPort, TestContext.Current.CancellationToken);
                sockets.Add(socket);
            }

            await server.WaitForOutputAsync("the most the open-file limit of 700 leaves room for");

            // Once the burst is refused (its descriptors are closed as Kestrel disposes each connection), the admin API answers.
            Assert.True(await sockets[^1].IsClosedByServerAsync());
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var health = await http.GetAsync(new Uri($"http://127.0.0.1:{adminPort}/healthz"), TestContext.Current.CancellationToken);
            Assert.True(health.IsSuccessStatusCode, $"/healthz answered {(int)health.StatusCode}");
            Assert.Equal([42], await first.ReadHoldingRegistersAsync(1, 0, 1));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
