using Mcpd.Testing;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Tests.Persistence;

/// <summary>
/// What clients wrote survives a restart through the state file (issue 12), in process: a graceful stop saves, a
/// start restores over the map's initial values, a damaged file is refused whole, and a failed save never replaces
/// the file it would have replaced.
/// </summary>
public sealed class PersistenceTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("mcpd-persist-").FullName;

    private string StateFile => Path.Combine(_directory, "state", "mcpd.state");

    [Fact]
    public async Task Values_written_with_FC05_FC06_and_FC16_are_back_after_a_restart_over_the_initial_values()
    {
        var cancel = TestContext.Current.CancellationToken;
        await using (var first = await McpdTestServer.StartAsync(Settings()))
        {
            await using var client = await first.ConnectClientAsync();
            await client.WriteSingleCoilAsync(1, 3, true, cancel);
            await client.WriteSingleRegisterAsync(1, 0, 4321, cancel);
            ushort[] values = [1, 2, 3];
            await client.WriteMultipleRegistersAsync(1, 10, values, cancel);
            await first.StopAsync();
            Assert.Contains(first.Logs.Lines, line => line.EventId.Id == 806);
        }

        await using var second = await McpdTestServer.StartAsync(Settings());
        await using var again = await second.ConnectClientAsync();

        bool[] coils = [false, false, false, true];
        Assert.Equal(coils, await again.ReadCoilsAsync(1, 0, 4, cancel));
        Assert.Equal([4321], await again.ReadHoldingRegistersAsync(1, 0, 1, cancel)); // its map value was 7
        Assert.Equal([1, 2, 3], await again.ReadHoldingRegistersAsync(1, 10, 3, cancel));
        Assert.Contains(second.Logs.Lines, line => line.EventId.Id == 800 && line.Message.Contains("1 device(s)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Nothing_is_written_while_no_client_writes()
    {
        await using (var first = await McpdTestServer.StartAsync(Settings()))
        {
            await using var client = await first.ConnectClientAsync();
            await client.ReadHoldingRegistersAsync(1, 0, 10, TestContext.Current.CancellationToken);
        }

        Assert.False(File.Exists(StateFile));
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("bit flipped")]
    [InlineData("not ours")]
    public async Task A_damaged_file_is_refused_whole_with_a_clear_line_and_the_devices_start_from_the_map(string damage)
    {
        var cancel = TestContext.Current.CancellationToken;
        await WriteAndStopAsync(4321);
        var content = await File.ReadAllBytesAsync(StateFile, cancel);
        var damaged = damage switch
        {
            "truncated" => content[..(content.Length - 7)],
            "bit flipped" => Flip(content, content.Length / 2),
            _ => "holding: 4321\n"u8.ToArray(),
        };
        await File.WriteAllBytesAsync(StateFile, damaged, cancel);

        await using var server = await McpdTestServer.StartAsync(Settings());
        await using var client = await server.ConnectClientAsync();

        Assert.Equal([7], await client.ReadHoldingRegistersAsync(1, 0, 1, cancel));
        var line = Assert.Single(server.Logs.Lines, l => l.EventId.Id == 802);
        Assert.Equal(LogLevel.Error, line.Level);
        Assert.Contains("is unusable", line.Message, StringComparison.Ordinal);
        Assert.Equal(damaged, await File.ReadAllBytesAsync(StateFile + ".corrupt", cancel));
        Assert.False(File.Exists(StateFile));
    }

    [Fact]
    public async Task A_save_that_fails_leaves_the_previous_file_and_logs_why()
    {
        var cancel = TestContext.Current.CancellationToken;
        await WriteAndStopAsync(1111);
        var saved = await File.ReadAllBytesAsync(StateFile, cancel);
        // The temporary file's name is taken by a directory: creating it fails, as on a full or read-only disk.
        Directory.CreateDirectory(StateFile + ".tmp");

        await WriteAndStopAsync(2222, expectSaved: false);

        Assert.Equal(saved, await File.ReadAllBytesAsync(StateFile, cancel));
        Directory.Delete(StateFile + ".tmp");
        await using var server = await McpdTestServer.StartAsync(Settings());
        await using var client = await server.ConnectClientAsync();
        Assert.Equal([1111], await client.ReadHoldingRegistersAsync(1, 0, 1, cancel));
    }

    [Fact]
    public async Task Units_and_addresses_no_longer_configured_are_skipped_with_one_line()
    {
        var cancel = TestContext.Current.CancellationToken;
        await using (var first = await McpdTestServer.StartAsync(Settings(units: 2)))
        {
            await using var client = await first.ConnectClientAsync();
            await client.WriteSingleRegisterAsync(1, 0, 4321, cancel);
        }

        await using var second = await McpdTestServer.StartAsync(Settings(holdingRegisters: 50));
        await using var again = await second.ConnectClientAsync();

        Assert.Equal([4321], await again.ReadHoldingRegistersAsync(1, 0, 1, cancel));
        var line = Assert.Single(second.Logs.Lines, l => l.EventId.Id == 803);
        // Unit 2 is gone; unit 1's holding table shrank from 100 to 50.
        Assert.Contains("skipped 1 device(s) no longer configured and 50 value(s)", line.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private async Task WriteAndStopAsync(ushort value, bool expectSaved = true)
    {
        await using var server = await McpdTestServer.StartAsync(Settings());
        await using (var client = await server.ConnectClientAsync())
        {
            await client.WriteSingleRegisterAsync(1, 0, value, TestContext.Current.CancellationToken);
        }

        await server.StopAsync();
        Assert.Equal(expectSaved, server.Logs.Lines.Any(line => line.EventId.Id == 806));
        Assert.Equal(!expectSaved, server.Logs.Lines.Any(line => line.EventId.Id == 804 && line.Level == LogLevel.Error));
    }

    private static byte[] Flip(byte[] content, int index)
    {
        var copy = (byte[])content.Clone();
        copy[index] ^= 0x10;
        return copy;
    }

    /// <summary>Units 1..<paramref name="units"/>, 20 coils and <paramref name="holdingRegisters"/> holding registers each; unit 1's register 0 starts at 7.</summary>
    private Dictionary<string, string?> Settings(int units = 1, int holdingRegisters = 100)
    {
        var settings = new Dictionary<string, string?>
        {
            ["persistence:file"] = StateFile,
            ["persistence:interval"] = "01:00:00",
            ["devices:0:registers:0:address"] = "0",
            ["devices:0:registers:0:value"] = "7",
        };
        for (var i = 0; i < units; i++)
        {
            settings[$"devices:{i}:unit"] = $"{i + 1}";
            settings[$"devices:{i}:coils"] = "20";
            settings[$"devices:{i}:holdingRegisters"] = $"{holdingRegisters}";
        }

        return settings;
    }
}
