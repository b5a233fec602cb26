using Mcpd.Client.Modbus;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Cli;

/// <summary>
/// The state file under the real executable (issue 12): SIGTERM saves after the drain, kill -9 loses only what came
/// after the last interval's save, and a reload keeps the saves going.
/// </summary>
public sealed class PersistenceProcessTests : IAsyncDisposable
{
    private static readonly string McpdDll = typeof(Mcpd.Cli.ExitCodes).Assembly.Location;

    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-persist-").FullName;

    private string ConfigFile => Path.Combine(_directory, "mcpd.yaml");

    private string StateFile => Path.Combine(_directory, "state", "mcpd.state");

    [Fact]
    public async Task Values_written_before_SIGTERM_are_back_after_a_restart()
    {
        await File.WriteAllTextAsync(ConfigFile, Config(interval: "01:00:00", value: 7), TestContext.Current.CancellationToken);
        var (first, firstPort) = await McpdProcess.StartAsync(McpdDll, ConfigFile);
        await using (first)
        {
            await using var client = await ModbusTcpClient.ConnectAsync("127.0.0.1", firstPort);
            await client.WriteSingleRegisterAsync(1, 0, 4321);
            await client.WriteSingleCoilAsync(1, 5, true);
            await first.TerminateAsync();
            await first.Process.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.Equal(0, first.Process.ExitCode);
            Assert.Contains(first.Output, line => line.Contains("saved what clients wrote before stopping", StringComparison.Ordinal));
        }

        var (second, port) = await McpdProcess.StartAsync(McpdDll, ConfigFile);
        await using var running = second;
        await using var again = await ModbusTcpClient.ConnectAsync("127.0.0.1", port);
        Assert.Equal([4321], await again.ReadHoldingRegistersAsync(1, 0, 1));
        Assert.True((await again.ReadCoilsAsync(1, 5, 1))[0]);
    }

    [Fact]
    public async Task After_kill_9_the_values_of_the_last_save_are_back_and_a_reload_keeps_the_saves_going()
    {
        await File.WriteAllTextAsync(ConfigFile, Config(interval: "00:00:00.2", value: 7), TestContext.Current.CancellationToken);
        var (first, firstPort) = await McpdProcess.StartAsync(McpdDll, ConfigFile);
        await using (first)
        {
            await using var client = await ModbusTcpClient.ConnectAsync("127.0.0.1", firstPort);
            await client.WriteSingleRegisterAsync(1, 0, 1111);
            await WaitForSavedAsync(1111);

            // A reload changes the map; the device and its saves go on.
            await File.WriteAllTextAsync(ConfigFile, Config(interval: "00:00:00.2", value: 8), TestContext.Current.CancellationToken);
            await first.WaitForOutputAsync("Configuration changed: applied");
            await client.WriteSingleRegisterAsync(1, 0, 2222);
            await WaitForSavedAsync(2222);

            first.Process.Kill(); // SIGKILL: no final save
            await first.Process.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.DoesNotContain(first.Output, line => line.Contains("before stopping", StringComparison.Ordinal));
        }

        var (second, port) = await McpdProcess.StartAsync(McpdDll, ConfigFile);
        await using var running = second;
        await using var again = await ModbusTcpClient.ConnectAsync("127.0.0.1", port);
        Assert.Equal([2222], await again.ReadHoldingRegistersAsync(1, 0, 1));
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>Waits until the state file on disk holds <paramref name="value"/> in unit 1's holding register 0.</summary>
    private async Task WaitForSavedAsync(ushort value)
    {
        // The file's last 4 bytes are its checksum; with 10 coils and 10 holding registers, register 0 is at byte 31.
        await Eventually.HoldsAsync(
            () =>
            {
                var content = File.Exists(StateFile) ? File.ReadAllBytes(StateFile) : [];
                return content.Length > 33 && ((content[31] << 8) | content[32]) == value;
            },
            TimeSpan.FromSeconds(10));
    }

    private string Config(string interval, int value) => $$"""
        modbus:
          port: 0
          bind: 127.0.0.1
        mcp:
          port: 0
          bind: 127.0.0.1
        admin:
          port: 0
        persistence:
          file: {{StateFile}}
          interval: "{{interval}}"
        devices:
          - unit: 1
            coils: 10
            holdingRegisters: 10
            registers:
              - table: holding
                address: 0
                name: setpoint
                value: "{{value}}"
        """;
}
