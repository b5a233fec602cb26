using Mcpd.Protocols.Modbus;

namespace Mcpd.Protocols.Tests.Modbus;

/// <summary>Whether a response can answer its request at all (the check that closes a gateway's upstream connection).</summary>
public class ModbusResponsePduTests
{
    [Theory]
    [InlineData("0300000002", "030400640055")]
    [InlineData("0300000002", "8302")]
    [InlineData("010000000A", "0102CD01")]
    [InlineData("0600010003", "0600010003")]
    [InlineData("100001000204000A0102", "1000010002")]
    [InlineData("1600040000FFFF", "1600040000FFFF")]
    [InlineData("2B0E0100", "2B0E01010000030003")]
    public void A_response_that_fits_its_request_has_no_mismatch(string request, string response) =>
        Assert.Null(ModbusResponsePdu.FindMismatch(Convert.FromHexString(request), Convert.FromHexString(response)));

    [Theory]
    [InlineData("0300000002", "", "an empty PDU")]
    [InlineData("0300000002", "040400640055", "function 0x04 in answer to 0x03")]
    [InlineData("0300000002", "830200", "an exception response of 3 bytes (7: exactly 2)")]
    [InlineData("0300000002", "0302006400", "5 bytes in answer to function 0x03 (6 expected)")]
    [InlineData("010000000A", "0101CD", "3 bytes in answer to function 0x01 (4 expected)")]
    [InlineData("0600010003", "06000100", "4 bytes in answer to function 0x06 (5 expected)")]
    public void A_response_that_cannot_answer_its_request_says_why(string request, string response, string expected) =>
        Assert.Equal(expected, ModbusResponsePdu.FindMismatch(Convert.FromHexString(request), Convert.FromHexString(response)));
}
