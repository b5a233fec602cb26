using Mcpd.Protocols.Modbus;

namespace Mcpd.Protocols.Tests.Modbus;

public class RegisterFormatTests
{
    /// <summary>Found by the admin-json fuzz target: 17432863 read back as 17432864, and written back as such.</summary>
    [Theory]
    [InlineData(RegisterDataType.UInt32, WordOrder.LowWordFirst, new ushort[] { 287, 266 }, 17432863d)]
    [InlineData(RegisterDataType.UInt32, WordOrder.HighWordFirst, new ushort[] { 0xFFFF, 0xFFFF }, 4294967295d)]
    [InlineData(RegisterDataType.Int32, WordOrder.HighWordFirst, new ushort[] { 0x8000, 0x0001 }, -2147483647d)]
    [InlineData(RegisterDataType.Int32, WordOrder.HighWordFirst, new ushort[] { 0x0100, 0x0001 }, 16777217d)]
    public void Decodes_every_32_bit_integer_exactly_and_encodes_it_back(RegisterDataType type, WordOrder order, ushort[] registers, double expected)
    {
        var format = new RegisterFormat(type, order);
        var decoded = format.DecodeNumber(registers);
        var encoded = new ushort[2];
        format.EncodeNumber(decoded, encoded);

        Assert.Equal(expected, decoded);
        Assert.Equal(registers, encoded);
    }

    [Fact]
    public void Decodes_float32_as_the_single_it_holds()
    {
        var registers = new ushort[2];
        new RegisterFormat(RegisterDataType.Float32).EncodeNumber(21.5, registers);

        Assert.Equal(21.5, new RegisterFormat(RegisterDataType.Float32).DecodeNumber(registers));
    }
}
