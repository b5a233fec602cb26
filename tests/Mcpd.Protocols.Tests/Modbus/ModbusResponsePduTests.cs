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
    [InlineData("08000012345678", "0800001234", "5 bytes in answer to function 0x08 (7 expected)")]
    [InlineData("17000000020001000102000A", "17020001", "4 bytes in answer to function 0x17 (6 expected)")]
    public void A_response_that_cannot_answer_its_request_says_why(string request, string response, string expected) =>
        Assert.Equal(expected, ModbusResponsePdu.FindMismatch(Convert.FromHexString(request), Convert.FromHexString(response)));

    [Theory]
    [InlineData("0300000002", "030400010002", true)]
    [InlineData("0300000002", "0302000A", false)] // the byte count of another quantity: a late answer
    [InlineData("0300000002", "8302", true)]
    [InlineData("0300000002", "0402000A", false)]
    [InlineData("010000000A", "0102FF03", true)]
    [InlineData("010000000A", "0101FF", false)]
    [InlineData("0600050007", "0600050007", true)]
    [InlineData("0600050007", "0600050008", false)]
    [InlineData("100001000204000A0102", "1000010002", true)]
    [InlineData("100001000204000A0102", "1000020002", false)]
    [InlineData("2B0E0100", "2B0E0101000000", true)]
    [InlineData("0800001234", "0800001234", true)]
    [InlineData("0800001234", "0800001235", false)]
    [InlineData("08000012345678", "08000012345678", true)] // 6.8.1 sub-function 00: identical to the request
    [InlineData("08000012345678", "0800001234", false)]
    [InlineData("08000B0000", "08000B0007", true)] // a counter: the sub-function repeated, then its value
    [InlineData("08000B0000", "08000C0007", false)]
    [InlineData("1600040000FFFF", "1600040000FFFF", true)]
    [InlineData("1600040000FFFF", "1600050000FFFF", false)]
    [InlineData("17000000020001000102000A", "170400010002", true)]
    [InlineData("17000000020001000102000A", "17020001", false)]
    [InlineData("0300000002", "830200", false)] // 7: an exception response is 2 bytes
    [InlineData("06", "0600010002", false)] // too short to be answered: nothing matches past its end
    public void A_response_answers_a_request_only_with_the_counts_or_echo_it_implies(string request, string response, bool answers) =>
        Assert.Equal(answers, ModbusResponsePdu.Answers(Convert.FromHexString(request), Convert.FromHexString(response)));
}
