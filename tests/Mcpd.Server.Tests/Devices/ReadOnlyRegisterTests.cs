using Mcpd.Protocols.Modbus;
using Mcpd.Server.Configuration;
using Mcpd.Server.Devices;

namespace Mcpd.Server.Tests.Devices;

/// <summary>
/// Read-only registers and ranges: every write function touching a read-only address answers 02 (or the device's
/// readOnlyException) and changes nothing, after the checks that come before it (03, then the table range).
/// </summary>
public class ReadOnlyRegisterTests
{
    /// <summary>
    /// Holding 10..14 and 60..67 (across a 64-bit word of the bitmap) read-only by range, holding 50..51 (a uint32) by
    /// its entry; coils 20..22 by range, coil 40 by its entry. Holding 0..127 and coils 0..63 start as their address.
    /// </summary>
    private static SimulatedDevice CreateDevice(ModbusExceptionCode readOnlyException = ModbusExceptionCode.IllegalDataAddress)
    {
        var options = new DeviceOptions
        {
            HoldingRegisters = 200,
            Coils = 100,
            ReadOnlyException = readOnlyException,
            ReadOnly =
            {
                new() { Table = RegisterTable.Holding, Address = 10, Count = 5 },
                new() { Table = RegisterTable.Holding, Address = 60, Count = 8 },
                new() { Table = RegisterTable.Coils, Address = 20, Count = 3 },
            },
            Registers =
            {
                new() { Table = RegisterTable.Holding, Address = 50, Type = RegisterDataType.UInt32, ReadOnly = true, Value = "7" },
                new() { Table = RegisterTable.Coils, Address = 40, ReadOnly = true, Value = "on" },
            },
        };
        Assert.Empty(McpdOptionsValidator.Check(new McpdOptions { Devices = { options } }));
        var device = new SimulatedDevice(options);
        device.Bank.WriteRegisters(RegisterTable.Holding, 0, [.. Enumerable.Range(0, 50).Select(a => (ushort)a)]);
        device.Bank.WriteRegisters(RegisterTable.Holding, 52, [.. Enumerable.Range(52, 76).Select(a => (ushort)a)]);
        return device;
    }

    public static TheoryData<string, string, string> RefusedWrites() => new()
    {
        { "FC05 read-only coil", "050015FF00", "8502" },
        { "FC05 read-only register entry coil", "050028FF00", "8502" },
        { "FC06 first of the range", "06000A1234", "8602" },
        { "FC06 last of the range", "06000E1234", "8602" },
        { "FC06 second word of a read-only uint32", "0600331234", "8602" },
        { "FC06 last of a range across a bitmap word", "0600431234", "8602" },
        { "FC0F crossing into the range", "0F0010000801FF", "8F02" },
        { "FC10 crossing into the range", "100008000306000100020003", "9002" },
        { "FC10 one register of 123 read-only", "100000007BF6" + new string('1', 492), "9002" },
        { "FC10 across the bitmap word boundary", "10003F00020400010002", "9002" },
        { "FC10 in the second bitmap word of a range", "10004000020400010002", "9002" },
        { "FC16 read-only register", "16000C00F20025", "9602" },
        { "FC17 write part read-only", "1700000001000E0001020001", "9702" },
    };

    [Theory]
    [MemberData(nameof(RefusedWrites))]
    public void Write_touching_a_read_only_address_answers_02_and_changes_nothing(string name, string request, string response)
    {
        var device = CreateDevice();
        var holdingBefore = ReadHolding(device);
        var coilsBefore = ReadCoils(device);

        var actual = device.ExecuteHex(request);

        Assert.True(response == actual, $"{name}: expected {response}, got {actual}");
        Assert.Equal(holdingBefore, ReadHolding(device));
        Assert.Equal(coilsBefore, ReadCoils(device));
    }

    [Theory]
    [InlineData("FC05 next to the range", "050017FF00", "050017FF00")]
    [InlineData("FC06 before the range", "0600091234", "0600091234")]
    [InlineData("FC06 after the range", "06000F1234", "06000F1234")]
    [InlineData("FC06 after a range ending in the next bitmap word", "0600441234", "0600441234")]
    [InlineData("FC10 ending just before the range", "100008000204AAAABBBB", "1000080002")]
    [InlineData("FC17 reads a read-only range, writes elsewhere", "17000A000200000001020001", "1704000A000B")]
    [InlineData("FC03 reads a read-only uint32", "0300320002", "030400000007")]
    [InlineData("FC01 reads a read-only coil", "0100280001", "010101")]
    public void Writes_beside_read_only_addresses_and_reads_of_them_are_served(string name, string request, string response)
    {
        var device = CreateDevice();

        var actual = device.ExecuteHex(request);

        Assert.True(response == actual, $"{name}: expected {response}, got {actual}");
    }

    [Theory]
    [InlineData("invalid byte count: 03 comes first", "10000A000203000100", "9003")]
    [InlineData("past the end of the table: 02 for the range", "0600C81234", "8602")]
    [InlineData("coil value neither FF00 nor 0000: 03 comes first", "0500151234", "8503")]
    public void Read_only_comes_after_the_value_and_range_checks(string name, string request, string response)
    {
        var actual = CreateDevice(ModbusExceptionCode.ServerDeviceFailure).ExecuteHex(request);

        Assert.True(response == actual, $"{name}: expected {response}, got {actual}");
    }

    [Fact]
    public void The_exception_code_is_configurable_per_device()
    {
        var device = CreateDevice(ModbusExceptionCode.ServerDeviceFailure);

        Assert.Equal("8604", device.ExecuteHex("06000A1234"));
        Assert.Equal("9004", device.ExecuteHex("100008000306000100020003"));
    }

    private static ushort[] ReadHolding(SimulatedDevice device)
    {
        var values = new ushort[200];
        device.Bank.ReadRegisters(RegisterTable.Holding, 0, values);
        return values;
    }

    private static bool[] ReadCoils(SimulatedDevice device)
    {
        var values = new bool[100];
        device.Bank.ReadBits(RegisterTable.Coils, 0, values);
        return values;
    }
}
