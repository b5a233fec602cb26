using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Server.Tests.Devices;

public class RegisterDefinitionTests
{
    private static readonly RegisterDefinition Float32 = new(RegisterTable.Holding, 0, "setpoint", null, new RegisterFormat(RegisterDataType.Float32), null, Scale: 1);

    /// <summary>Found by the admin-json fuzz target: {"value": 1e400} wrote +Infinity where 3.5e38 is refused.</summary>
    [Theory]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    [InlineData("3.5e38")]
    public void A_number_beyond_float32_is_refused_as_out_of_range(string value)
    {
        var registers = new ushort[2];

        Assert.Throws<OverflowException>(() => Float32.Encode(value, registers));
    }

    [Theory]
    [InlineData("Infinity", float.PositiveInfinity)]
    [InlineData("-Infinity", float.NegativeInfinity)]
    [InlineData("3.4e38", 3.4e38f)]
    public void Infinity_written_as_a_word_and_the_largest_singles_are_stored(string value, float expected)
    {
        var registers = new ushort[2];

        Float32.Encode(value, registers);

        Assert.Equal(expected, (double)Float32.Decode(registers));
    }
}
