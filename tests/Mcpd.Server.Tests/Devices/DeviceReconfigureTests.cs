using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Server.Tests.Devices;

/// <summary>
/// A hot reload applied to a serving device (<see cref="SimulatedDevice.TryReconfigure"/>) as a diff: what did not
/// change is kept (the register map itself when only initial values changed), a live value is never overwritten, and
/// a register new to the map (or whose layout changed) starts at its initial value.
/// </summary>
public class DeviceReconfigureTests
{
    private static DeviceOptions Map(string value, RegisterDataType secondType = RegisterDataType.UInt16, string? secondName = "b") => new()
    {
        HoldingRegisters = 100,
        Registers =
        {
            new() { Table = RegisterTable.Holding, Address = 0, Name = "a", Value = value },
            new() { Table = RegisterTable.Holding, Address = 1, Name = secondName, Type = secondType, Value = value },
        },
    };

    private static ushort[] Read(SimulatedDevice device, int count)
    {
        var registers = new ushort[count];
        device.Bank.ReadRegisters(RegisterTable.Holding, 0, registers);
        return registers;
    }

    [Fact]
    public void A_reload_that_changes_only_initial_values_keeps_the_map_and_the_live_values()
    {
        var device = new SimulatedDevice(Map("1"));
        var map = device.Map;
        device.Bank.WriteRegisters(RegisterTable.Holding, 0, [7, 8]);

        Assert.True(device.TryReconfigure(Map("2"), out _));

        Assert.Same(map, device.Map);
        Assert.Equal([7, 8], Read(device, 2));
    }

    [Fact]
    public void A_changed_entry_gets_a_new_map_sharing_the_unchanged_definitions_and_a_changed_layout_takes_its_initial_value()
    {
        var device = new SimulatedDevice(Map("1"));
        var first = device.Map.Find(RegisterTable.Holding, 0);
        device.Bank.WriteRegisters(RegisterTable.Holding, 0, [7, 8, 9]);

        Assert.True(device.TryReconfigure(Map("2", secondName: "renamed"), out _));
        Assert.Same(first, device.Map.Find(RegisterTable.Holding, 0));
        Assert.Equal("renamed", device.Map.Find(RegisterTable.Holding, 1)!.Name);
        // A new name is the same register: its live value stays.
        Assert.Equal([7, 8, 9], Read(device, 3));

        Assert.True(device.TryReconfigure(Map("3", secondType: RegisterDataType.UInt32), out _));
        // Another type is another register: it starts at its initial value (a uint32 of 3 over 1..2); 0 keeps its own.
        Assert.Equal([7, 0, 3], Read(device, 3));
    }
}
