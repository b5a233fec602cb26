using System.Buffers;
using Mcpd.Protocols.Modbus;

namespace Mcpd.Protocols.Tests.Modbus;

/// <summary>
/// The function descriptor table against Application Protocol V1.1b3 section 6: request and response lengths for
/// the smallest, a typical and the largest PDU of every function, exception responses, unknown codes, what a
/// response repeats of its request, and which functions only read.
/// </summary>
public class ModbusFunctionTableTests
{
    public static readonly TheoryData<byte> KnownFunctions = new(new byte[] {
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0F, 0x10, 0x11, 0x14, 0x15, 0x16, 0x17, 0x18, 0x2B });

    [Theory]
    [MemberData(nameof(KnownFunctions))]
    public void Every_function_of_section_6_is_known_under_its_own_code(byte function)
    {
        ref readonly var descriptor = ref ModbusFunctionTable.Get(function);

        Assert.True(descriptor.IsKnown);
        Assert.Equal(function, (byte)descriptor.Code);
        Assert.True(Enum.IsDefined(descriptor.Code));
        Assert.NotEqual(ModbusPduLayout.Unknown, descriptor.ResponseLayout);
    }

    [Fact]
    public void Every_other_code_is_unknown_and_its_length_cannot_be_found()
    {
        var known = KnownFunctions.Select(row => (byte)row.Data).ToHashSet();
        for (var code = 0; code < 256; code++)
        {
            if (known.Contains((byte)code))
            {
                continue;
            }

            ref readonly var descriptor = ref ModbusFunctionTable.Get((byte)code);
            Assert.False(descriptor.IsKnown);
            Assert.Equal(1, descriptor.MinRequestLength);
            Assert.Equal(OperationStatus.InvalidData, ModbusFunctionTable.RequestLength([(byte)code, 0, 0, 0, 0], out _, out _));
        }
    }

    [Theory]
    [InlineData("0100000001", 5)] // 6.1
    [InlineData("020000", 5)] // 6.2: fixed, known from the function code alone
    [InlineData("0300", 5)] // 6.3
    [InlineData("04", 5)] // 6.4
    [InlineData("05", 5)] // 6.5
    [InlineData("06", 5)] // 6.6
    [InlineData("07", 1)] // 6.7
    [InlineData("080001", 5)] // 6.8: restart communications, one data word
    [InlineData("0B", 1)] // 6.9
    [InlineData("0C", 1)] // 6.10
    [InlineData("0F000000010101", 7)] // 6.11: one coil
    [InlineData("0F000007B0F6", 252)] // 6.11: 1968 coils, 246 bytes
    [InlineData("100000000102", 8)] // 6.12: one register
    [InlineData("100000007BF6", 252)] // 6.12: 123 registers
    [InlineData("11", 1)] // 6.13
    [InlineData("1407", 9)] // 6.14: one sub-request
    [InlineData("14F5", 247)] // 6.14: the largest byte count
    [InlineData("1509", 11)] // 6.15
    [InlineData("16", 7)] // 6.16
    [InlineData("17000000010000000102", 12)] // 6.17: write one register
    [InlineData("170000007D00000079F2", 252)] // 6.17: write 121 registers
    [InlineData("18", 3)] // 6.18
    [InlineData("2B0E", 4)] // 6.21
    public void Request_lengths_follow_the_layouts_of_section_6(string head, int expected)
    {
        Assert.Equal(OperationStatus.Done, ModbusFunctionTable.RequestLength(Convert.FromHexString(head), out var length, out var openEnded));
        Assert.Equal(expected, length);
        Assert.False(openEnded);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0F00000001")] // the byte count is still to come
    [InlineData("10000000")]
    [InlineData("170000000100000001")]
    [InlineData("14")]
    [InlineData("08")] // the sub-function is still to come
    [InlineData("0800")]
    [InlineData("2B")] // the MEI type is still to come
    public void A_request_cut_before_its_length_field_needs_more_data(string head) =>
        Assert.Equal(OperationStatus.NeedMoreData, ModbusFunctionTable.RequestLength(Convert.FromHexString(head), out _, out _));

    [Fact]
    public void Return_query_data_is_open_ended_from_its_first_data_word()
    {
        Assert.Equal(OperationStatus.Done, ModbusFunctionTable.RequestLength([0x08, 0x00, 0x00], out var length, out var openEnded));

        Assert.Equal(5, length);
        Assert.True(openEnded);
    }

    [Fact]
    public void An_encapsulated_interface_other_than_device_identification_is_not_known() =>
        Assert.Equal(OperationStatus.InvalidData, ModbusFunctionTable.RequestLength([0x2B, 0x0D, 0x00, 0x00], out _, out _));

    [Theory]
    [InlineData("0101", "", 3)] // 6.1: 1..8 coils
    [InlineData("01FA", "", 252)] // 6.1: 2000 coils
    [InlineData("0201", "", 3)] // 6.2
    [InlineData("0302", "", 4)] // 6.3: one register
    [InlineData("03FA", "", 252)] // 6.3: 125 registers
    [InlineData("0402", "", 4)] // 6.4
    [InlineData("05", "", 5)] // 6.5
    [InlineData("06", "", 5)] // 6.6
    [InlineData("07", "", 2)] // 6.7
    [InlineData("08000B", "", 5)] // 6.8: a counter
    [InlineData("080000", "08000012345678", 7)] // 6.8.1: as long as the request
    [InlineData("080000", "0800000000", 5)]
    [InlineData("0B", "", 5)] // 6.9
    [InlineData("0C08", "", 10)] // 6.10: no event
    [InlineData("0F", "", 5)] // 6.11
    [InlineData("10", "", 5)] // 6.12
    [InlineData("1105", "", 7)] // 6.13
    [InlineData("140C", "", 14)] // 6.14
    [InlineData("150D", "", 15)] // 6.15
    [InlineData("16", "", 7)] // 6.16
    [InlineData("1704", "", 6)] // 6.17: two registers read
    [InlineData("170E", "", 16)]
    [InlineData("180006", "", 9)] // 6.18: two values
    [InlineData("180040", "", 67)] // 6.18: 31 values, the most a FIFO holds
    [InlineData("2B0E0101000000", "", 7)] // 6.21: no object
    [InlineData("2B0E010100000200014101024242", "", 14)] // 6.21: two objects
    [InlineData("83", "", 2)] // 7: an exception, whatever the function
    [InlineData("C1", "", 2)]
    public void Response_lengths_follow_the_layouts_of_section_6_and_7(string head, string request, int expected)
    {
        Assert.Equal(OperationStatus.Done, ModbusFunctionTable.ResponseLength(Convert.FromHexString(head), Convert.FromHexString(request), out var length, out var openEnded));
        Assert.Equal(expected, length);
        Assert.False(openEnded);
    }

    [Theory]
    [InlineData("", true)] // 6.8.1: only the request tells how many data words the echo carries; the framing must find its end
    [InlineData("0300000001", false)] // a stray echo while a read waits: not its answer, measured at its shortest to be dropped
    public void An_echo_of_return_query_data_is_open_ended_when_its_request_is_unknown(string request, bool openEnded)
    {
        Assert.Equal(OperationStatus.Done, ModbusFunctionTable.ResponseLength(Convert.FromHexString("08000012345678"), Convert.FromHexString(request), out var length, out var actualOpenEnded));
        Assert.Equal(5, length);
        Assert.Equal(openEnded, actualOpenEnded);
    }

    [Theory]
    [InlineData("0100000001", 3, 1)] // 6.1: 1 coil, 1 byte
    [InlineData("01000007D0", 252, 1)] // 6.1: 2000 coils
    [InlineData("0200000009", 4, 1)] // 6.2: 9 inputs, 2 bytes
    [InlineData("0300000001", 4, 1)] // 6.3
    [InlineData("030000007D", 252, 1)] // 6.3: 125 registers
    [InlineData("0400000002", 6, 1)] // 6.4
    [InlineData("0500ACFF00", 5, 5)] // 6.5: an echo
    [InlineData("0600010003", 5, 5)] // 6.6: an echo
    [InlineData("07", 0, 1)] // 6.7
    [InlineData("0800000000", 5, 5)] // 6.8.1: the whole request
    [InlineData("08000012345678", 7, 7)]
    [InlineData("08000B0000", 5, 3)] // 6.8: the sub-function, then the counter
    [InlineData("0F0013000A02CD01", 5, 5)] // 6.11: address and quantity
    [InlineData("100001000204000A0102", 5, 5)] // 6.12
    [InlineData("11", 0, 1)] // 6.13
    [InlineData("1600040000FFFF", 7, 7)] // 6.16: an echo
    [InlineData("17000000030001000102000A", 8, 1)] // 6.17: three registers read
    [InlineData("2B0E0100", 0, 2)] // 6.21
    [InlineData("41", 0, 1)] // unknown: only the function
    public void A_request_fixes_the_length_and_echo_of_its_answer(string request, int length, int echoed)
    {
        Assert.True(ModbusFunctionTable.Get(Convert.FromHexString(request)[0]).TryDescribeResponse(Convert.FromHexString(request), out var actualLength, out var actualEchoed));
        Assert.Equal(length, actualLength);
        Assert.Equal(echoed, actualEchoed);
    }

    [Theory]
    [InlineData("03000000")] // 6.3 needs address and quantity
    [InlineData("0600")]
    [InlineData("0F0000000A")] // 6.11 needs its byte count
    [InlineData("08")] // 6.8 needs its sub-function
    [InlineData("16000400")]
    [InlineData("170000000100000001")]
    [InlineData("2B")]
    public void A_request_shorter_than_its_fields_has_no_answer(string request)
    {
        var pdu = Convert.FromHexString(request);

        Assert.True(pdu.Length < ModbusFunctionTable.Get(pdu[0]).MinRequestLength);
        Assert.False(ModbusFunctionTable.Get(pdu[0]).TryDescribeResponse(pdu, out _, out _));
    }

    [Theory]
    [InlineData("0800040000", true)] // 6.8.1: Force Listen Only Mode, no response is returned
    [InlineData("080004", true)]
    [InlineData("0800010000", false)] // restart communications answers, and leaves listen-only mode
    [InlineData("0800000004", false)]
    [InlineData("0300040001", false)]
    public void Only_force_listen_only_mode_is_answered_by_silence(string request, bool silent)
    {
        var pdu = Convert.FromHexString(request);

        Assert.Equal(silent, ModbusFunctionTable.Get(pdu[0]).IsAnsweredBySilence(pdu));
    }

    [Fact]
    public void Only_side_effect_free_functions_count_as_reads()
    {
        byte[][] reads = [[0x01], [0x02], [0x03], [0x04], [0x07], [0x0B], [0x0C], [0x11], [0x14], [0x18], [0x2B, 0x0E]];
        byte[][] writes = [[0x05], [0x06], [0x08], [0x0F], [0x10], [0x15], [0x16], [0x17], [0x2B, 0x0D], [0x2B], [0x41], [0x83]];

        Assert.All(reads, pdu => Assert.True(ModbusFunctionTable.Get(pdu[0]).IsSideEffectFree(pdu)));
        Assert.All(writes, pdu => Assert.False(ModbusFunctionTable.Get(pdu[0]).IsSideEffectFree(pdu)));
    }

    [Fact]
    public void A_lookup_allocates_nothing()
    {
        byte[] request = [0x03, 0x00, 0x00, 0x00, 0x0A];
        var found = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var code = 0; code < 256 * 16; code++)
        {
            request[0] = (byte)code;
            ref readonly var descriptor = ref ModbusFunctionTable.Get(request[0]);
            found += descriptor.IsKnown && descriptor.TryDescribeResponse(request, out var length, out _) ? length : 0;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(found > 0);
    }
}
