using System.Globalization;
using System.Text.Json;
using Mcpd.Testing;

namespace Mcpd.Interop.Tests;

/// <summary>
/// pymodbus (Debian 12's python3-pymodbus 3.0) talks to a real mcpd. Each test runs a short script with
/// /usr/bin/python3 that prints what pymodbus decoded as JSON. pymodbus 3.0 names the unit <c>slave=</c> in its
/// client methods but <c>unit=</c> in request classes (used directly for FC16, FC17, FC08 and FC2B/0E: its
/// diag_* helpers pass the unit as the data word, and it has no read_device_information helper).
/// </summary>
public sealed class PymodbusTests(InteropTools tools, ITestOutputHelper output)
{
    private const string Prelude = """
        import json, sys
        from pymodbus.client import ModbusTcpClient

        def ok(response):
            if response.isError():
                raise SystemExit(f"pymodbus got an error response: {response}")
            return response

        client = ModbusTcpClient(sys.argv[1], port=int(sys.argv[2]), timeout=5, retries=0)
        if not client.connect():
            raise SystemExit("pymodbus could not connect")
        out = {}

        """;

    private const string Epilogue = """

        client.close()
        print(json.dumps(out))
        """;

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(255)]
    public async Task ReadHoldingRegisters_ReturnsTemperatureAndHumidity(int unit)
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await RunAsync(server, $"""
            r = ok(client.read_holding_registers(0, 2, slave={unit}))
            out["registers"] = r.registers
            out["unit"] = r.unit_id
            """);

        Assert.Equal([100, 85], Ints(result, "registers"));
        Assert.Equal(unit, result.GetProperty("unit").GetInt32());
    }

    /// <summary>The default MajorMinorRevision object: the major and minor version of the build.</summary>
    private static readonly string BuildRevision = new Mcpd.Server.Devices.DeviceIdentificationOptions().MajorMinorRevision;

    [Fact]
    public async Task WriteMultipleRegisters_AreReadBack()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await RunAsync(server, """
            w = ok(client.write_registers(100, [1234, 5678, 65535], slave=1))
            out["written"] = [w.address, w.count]
            out["registers"] = ok(client.read_holding_registers(99, 5, slave=1)).registers
            """);

        Assert.Equal([100, 3], Ints(result, "written"));
        Assert.Equal([0, 1234, 5678, 65535, 0], Ints(result, "registers"));
    }

    [Fact]
    public async Task WriteSingleRegister_IsReadBack()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await RunAsync(server, """
            w = ok(client.write_register(1, 0xBEEF, slave=1))
            out["written"] = [w.address, w.value]
            out["registers"] = ok(client.read_holding_registers(0, 3, slave=1)).registers
            """);

        Assert.Equal([1, 0xBEEF], Ints(result, "written"));
        Assert.Equal([100, 0xBEEF, 0], Ints(result, "registers"));
    }

    [Fact]
    public async Task WriteMultipleCoils_AreReadBack()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await RunAsync(server, """
            pattern = [True, False, True, True, False, False, True, False, True, True]
            w = ok(client.write_coils(20, pattern, slave=1))
            out["written"] = [w.address, w.count]
            out["coils"] = ok(client.read_coils(19, 13, slave=1)).bits[:13]
            """);

        Assert.Equal([20, 10], Ints(result, "written"));
        Assert.Equal([false, true, false, true, true, false, false, true, false, true, true, false, false], Bools(result, "coils"));
    }

    [Fact]
    public async Task WriteSingleCoil_IsReadBack()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await RunAsync(server, """
            on = ok(client.write_coil(7, True, slave=1))
            ok(client.write_coil(8, True, slave=1))
            off = ok(client.write_coil(8, False, slave=1))
            out["addresses"] = [on.address, off.address]
            out["values"] = [on.value, off.value]
            out["coils"] = ok(client.read_coils(6, 4, slave=1)).bits[:4]
            """);

        Assert.Equal([7, 8], Ints(result, "addresses"));
        Assert.Equal([true, false], Bools(result, "values"));
        Assert.Equal([false, true, false, false], Bools(result, "coils"));
    }

    [Fact]
    public async Task ReadInputRegistersAndDiscreteInputs_ReturnZeros()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await RunAsync(server, """
            out["inputs"] = ok(client.read_input_registers(0, 4, slave=1)).registers
            out["last_input"] = ok(client.read_input_registers(9999, 1, slave=1)).registers
            out["discrete"] = ok(client.read_discrete_inputs(0, 12, slave=1)).bits[:12]
            """);

        Assert.Equal([0, 0, 0, 0], Ints(result, "inputs"));
        Assert.Equal([0], Ints(result, "last_input"));
        Assert.Equal(new bool[12], Bools(result, "discrete"));
    }

    [Fact]
    public async Task ReadPastTheEnd_AnswersIllegalDataAddress_AndTheConnectionStaysUsable()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await RunAsync(server, """
            def exception(response):
                return [response.function_code, response.exception_code] if response.isError() else str(response)
            out["holding"] = exception(client.read_holding_registers(9999, 2, slave=1))
            out["coils"] = exception(client.read_coils(9999, 2, slave=1))
            out["last"] = ok(client.read_holding_registers(9999, 1, slave=1)).registers
            """);

        Assert.Equal([0x83, 2], Ints(result, "holding"));
        Assert.Equal([0x81, 2], Ints(result, "coils"));
        Assert.Equal([0], Ints(result, "last"));
    }

    [Fact]
    public async Task ReadDeviceIdentification_ReturnsTheIdentityObjects()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await RunAsync(server, """
            from pymodbus.mei_message import ReadDeviceInformationRequest
            for name, read_code, object_id in (("basic", 1, 0), ("regular", 2, 0), ("individual", 4, 1)):
                r = ok(client.execute(ReadDeviceInformationRequest(read_code=read_code, object_id=object_id, unit=1)))
                out[name] = {
                    "objects": {str(key): value.decode() for key, value in r.information.items()},
                    "count": r.number_of_objects,
                    "more_follows": r.more_follows,
                }
            """);

        Assert.Equal(
            new Dictionary<string, string> { ["0"] = "mcpd", ["1"] = "MCPD-SIM", ["2"] = BuildRevision },
            Objects(result, "basic"));
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["0"] = "mcpd",
                ["1"] = "MCPD-SIM",
                ["2"] = BuildRevision,
                ["4"] = "mcpd simulated device",
                ["5"] = "simulator",
            },
            Objects(result, "regular"));
        Assert.Equal(new Dictionary<string, string> { ["1"] = "MCPD-SIM" }, Objects(result, "individual"));
        Assert.Equal(5, result.GetProperty("regular").GetProperty("count").GetInt32());
        Assert.Equal(0, result.GetProperty("regular").GetProperty("more_follows").GetInt32());
    }

    [Fact]
    public async Task MaskWriteRegister_AppliesTheMasks()
    {
        await using var server = await McpdTestServer.StartAsync();

        // The example of the specification (6.16): 0x12 AND 0xF2 OR (0x25 AND NOT 0xF2) = 0x17.
        var result = await RunAsync(server, """
            ok(client.write_register(300, 0x12, slave=1))
            w = ok(client.mask_write_register(address=300, and_mask=0xF2, or_mask=0x25, unit=1))
            out["echo"] = [w.unit_id, w.address, w.and_mask, w.or_mask]
            out["registers"] = ok(client.read_holding_registers(300, 1, slave=1)).registers
            """);

        Assert.Equal([1, 300, 0xF2, 0x25], Ints(result, "echo"));
        Assert.Equal([0x17], Ints(result, "registers"));
    }

    [Fact]
    public async Task ReadWriteMultipleRegisters_WritesBeforeReading()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await RunAsync(server, """
            r = ok(client.readwrite_registers(read_address=0, read_count=5, write_address=1, write_registers=[11, 22, 33], unit=1))
            out["read"] = r.registers
            out["unit"] = r.unit_id
            out["after"] = ok(client.read_holding_registers(0, 5, slave=1)).registers
            """);

        Assert.Equal([100, 11, 22, 33, 0], Ints(result, "read"));
        Assert.Equal(1, result.GetProperty("unit").GetInt32());
        Assert.Equal([100, 11, 22, 33, 0], Ints(result, "after"));
    }

    [Fact]
    public async Task Diagnostics_EchoesQueryDataAndCountsBusMessages()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await RunAsync(server, """
            from pymodbus.diag_message import ReturnQueryDataRequest, ReturnBusMessageCountRequest
            echo = ok(client.execute(ReturnQueryDataRequest(0x1234, unit=1)))
            count = ok(client.execute(ReturnBusMessageCountRequest(unit=1)))
            out["echo"] = [echo.sub_function_code, *echo.message]
            out["count"] = [count.sub_function_code, *count.message]
            """);

        Assert.Equal([0x00, 0x1234], Ints(result, "echo"));
        Assert.Equal([0x0B, 2], Ints(result, "count"));
    }

    /// <summary>Runs <paramref name="body"/> between the connect prelude and the JSON print; returns the JSON.</summary>
    private async Task<JsonElement> RunAsync(McpdTestServer server, string body)
    {
        var endPoint = server.ModbusEndPoint;
        var script = Prelude + body + Epilogue;
        var result = await ProcessRunner.RunAsync(
            InteropTools.Python,
            ["-I", "-c", script, endPoint.Address.ToString(), endPoint.Port.ToString(CultureInfo.InvariantCulture)],
            cancellationToken: TestContext.Current.CancellationToken);
        output.WriteLine($"pymodbus {tools.PymodbusVersion}");
        output.WriteLine(result.ToString());

        Assert.True(result.Succeeded, $"pymodbus script failed:\n{result}");
        try
        {
            using var json = JsonDocument.Parse(result.StandardOutput);
            return json.RootElement.Clone();
        }
        catch (JsonException e)
        {
            Assert.Fail($"pymodbus script printed no JSON ({e.Message}):\n{result}");
            throw;
        }
    }

    private static int[] Ints(JsonElement result, string name) =>
        [.. result.GetProperty(name).EnumerateArray().Select(e => e.GetInt32())];

    private static bool[] Bools(JsonElement result, string name) =>
        [.. result.GetProperty(name).EnumerateArray().Select(e => e.GetBoolean())];

    private static Dictionary<string, string> Objects(JsonElement result, string name) =>
        result.GetProperty(name).GetProperty("objects").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
}
