using System.Text;
using Mcpd.Protocols.Framing;
using Mcpd.Testing;

namespace Mcpd.Protocols.Tests.Framing;

public class Crc16ModbusTests
{
    [Fact]
    public void Check_value_of_123456789_is_4B37()
    {
        Assert.Equal(0x4B37, Crc16Modbus.Compute(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void Modbus_RTU_read_request_carries_C5_CD()
    {
        // Unit 1, FC03, address 0, 10 registers: the CRC is 0xCDC5, sent low byte first as C5 CD.
        Assert.Equal(0xCDC5, Crc16Modbus.Compute(Convert.FromHexString("01030000000A")));
    }

    [Fact]
    public void Sequence_in_pieces_gives_the_same_crc_as_one_span()
    {
        var data = Encoding.ASCII.GetBytes("mcpd CRC over several segments");
        for (var split = 1; split < data.Length; split++)
        {
            Assert.Equal(Crc16Modbus.Compute(data), Crc16Modbus.Compute(SegmentedSequence.Split(data, split)));
        }
    }
}
