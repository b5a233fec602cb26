using Mcpd.Client.Modbus;
using Mcpd.Protocols.Modbus;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Devices;

/// <summary>A generated, read-only temperature and a read-only range over Modbus TCP, against the real host on a fake clock.</summary>
public class SimulationEndToEndTests
{
    [Fact]
    public async Task A_client_sees_the_temperature_move_with_the_clock_and_cannot_write_read_only_registers()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await McpdTestServer.StartAsync(
            new Dictionary<string, string?>
            {
                ["devices:0:unit"] = "1",
                ["devices:0:registers:0:name"] = "temperature",
                ["devices:0:registers:0:type"] = "int16",
                ["devices:0:registers:0:scale"] = "0.1",
                ["devices:0:registers:0:readOnly"] = "true",
                ["devices:0:registers:0:generator:kind"] = "sine",
                ["devices:0:registers:0:generator:min"] = "15",
                ["devices:0:registers:0:generator:max"] = "25",
                ["devices:0:registers:0:generator:period"] = "00:01:00",
                ["devices:0:readOnly:0:address"] = "100",
                ["devices:0:readOnly:0:count"] = "50",
            },
            builder => builder.Services.AddSingleton<TimeProvider>(time));
        await using var client = await server.ConnectClientAsync();
        var cancel = TestContext.Current.CancellationToken;

        Assert.Equal([200], await client.ReadHoldingRegistersAsync(1, 0, 1, cancel)); // 20.0 °C, mid-range at start
        time.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal([250], await client.ReadHoldingRegistersAsync(1, 0, 1, cancel)); // the peak, a quarter period on
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal([150], await client.ReadHoldingRegistersAsync(1, 0, 1, cancel));

        var onGenerated = await Assert.ThrowsAsync<ModbusException>(() => client.WriteSingleRegisterAsync(1, 0, 999, cancel));
        var onRange = await Assert.ThrowsAsync<ModbusException>(() => client.WriteMultipleRegistersAsync(1, 98, [1, 2, 3, 4], cancel));

        Assert.Equal(ModbusExceptionCode.IllegalDataAddress, onGenerated.Code);
        Assert.Equal(ModbusExceptionCode.IllegalDataAddress, onRange.Code);
        Assert.Equal([0, 0, 0, 0], await client.ReadHoldingRegistersAsync(1, 98, 4, cancel)); // nothing written
        Assert.Equal([150], await client.ReadHoldingRegistersAsync(1, 0, 1, cancel));
        await client.WriteMultipleRegistersAsync(1, 96, [1, 2, 3, 4], cancel); // just before the range
        Assert.Equal([1, 2, 3, 4], await client.ReadHoldingRegistersAsync(1, 96, 4, cancel));
    }
}
