using Mcpd.Server.Devices;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Devices;

/// <summary>
/// Golden request/response PDUs for every function code and exception path, each limit at 0, 1, max and max+1,
/// against the built-in default device (10000 addresses per table; holding 0 = 100, holding 1 = 85).
/// </summary>
public class ModbusPduGoldenTests
{
    private static readonly string Zeros250 = new('0', 500);

    public static TheoryData<string, string, string> Vectors() => new()
    {
        // FC01 Read Coils: quantity 1..2000 else 03, then range else 02.
        { "FC01 one coil", "0100000001", "010100" },
        { "FC01 quantity 0", "0100000000", "8103" },
        { "FC01 quantity 2000", "01000007D0", "01FA" + Zeros250 },
        { "FC01 quantity 2001", "01000007D1", "8103" },
        { "FC01 last address", "01270F0001", "010100" },
        { "FC01 past the end", "01270F0002", "8102" },
        { "FC01 short PDU", "01000000", "8103" },
        // FC02 Read Discrete Inputs.
        { "FC02 eight inputs", "0200000008", "020100" },
        { "FC02 quantity 2001", "02000007D1", "8203" },
        { "FC02 past the end", "0227100001", "8202" },
        // FC03 Read Holding Registers: the built-in device's table.
        { "FC03 seed table", "0300000002", "030400640055" },
        { "FC03 quantity 0", "0300000000", "8303" },
        { "FC03 quantity 1", "0300010001", "03020055" },
        { "FC03 quantity 125", "030000007D", "03FA00640055" + new string('0', 492) },
        { "FC03 quantity 126", "030000007E", "8303" },
        { "FC03 validation order: address 999 quantity 126 is 03, not 02", "0303E7007E", "8303" },
        { "FC03 seed: reading past the end of the map", "03270F0002", "8302" },
        { "FC03 address 0xFFFF", "03FFFF0001", "8302" },
        // FC04 Read Input Registers.
        { "FC04 one register", "0400000001", "04020000" },
        { "FC04 quantity 126", "040000007E", "8403" },
        { "FC04 past the end", "04270F0002", "8402" },
        // FC05 Write Single Coil: 0xFF00 or 0x0000 else 03; echo.
        { "FC05 on", "050000FF00", "050000FF00" },
        { "FC05 off", "0500000000", "0500000000" },
        { "FC05 other value", "0500001234", "8503" },
        { "FC05 0x00FF is not on", "05000000FF", "8503" },
        { "FC05 last address", "05270FFF00", "05270FFF00" },
        { "FC05 past the end", "052710FF00", "8502" },
        // FC06 Write Single Register: echo.
        { "FC06 write", "0600021234", "0600021234" },
        { "FC06 past the end", "0627100001", "8602" },
        { "FC06 short PDU", "06000212", "8603" },
        // FC0F Write Multiple Coils: quantity 1..1968, byte count = ceil(N/8).
        { "FC0F ten coils", "0F0000000A02FF03", "0F0000000A" },
        { "FC0F quantity 0", "0F000000000100", "8F03" },
        { "FC0F quantity 1968", "0F000007B0F6" + new string('F', 492), "0F000007B0" },
        { "FC0F quantity 1969", "0F000007B1F7" + new string('F', 494), "8F03" },
        { "FC0F byte count too small", "0F0000000A01FF", "8F03" },
        { "FC0F byte count disagrees with the PDU", "0F0000000A02FF", "8F03" },
        { "FC0F past the end", "0F270F00020103", "8F02" },
        // FC10 Write Multiple Registers: quantity 1..123, byte count = 2N.
        { "FC10 two registers", "100000000204000A000B", "1000000002" },
        { "FC10 quantity 0", "10000000000000", "9003" },
        { "FC10 quantity 123", "100000007BF6" + new string('0', 492), "100000007B" },
        { "FC10 quantity 124", "100000007CF8" + new string('0', 496), "9003" },
        { "FC10 byte count odd", "10000000020300010002", "9003" },
        { "FC10 past the end", "10270F00020400010002", "9002" },
        // FC16 Mask Write Register, the spec's example: 0x12 AND 0xF2 OR (0x25 AND NOT 0xF2) = 0x17.
        { "FC16 short PDU", "16000000F2", "9603" },
        { "FC16 past the end", "16271000F20025", "9602" },
        // FC17 Read/Write Multiple Registers: read 1..125, write 1..121, byte count = 2 x write quantity.
        { "FC17 write happens before the read", "1700000002000000020400070008", "170400070008" },
        { "FC17 read quantity 0", "170000000000000001020001", "9703" },
        { "FC17 read quantity 126", "170000007E00000001020001", "9703" },
        { "FC17 write quantity 121", "170000000100000079F2" + new string('0', 484), "17020000" },
        { "FC17 write quantity 122", "17000000010000007AF4" + new string('0', 488), "9703" },
        { "FC17 byte count disagrees", "170000000100000001040001", "9703" },
        { "FC17 read past the end", "17270F000200000001020001", "9702" },
        { "FC17 write past the end", "170000000127100001020001", "9702" },
        // FC08 Diagnostics: 00 echo; unsupported sub-function 01 (6.8 state diagram); counter data must be 0000.
        { "FC08 echo", "080000CAFE1234", "080000CAFE1234" },
        { "FC08 restart communications", "080001FF00", "080001FF00" },
        { "FC08 restart with bad data", "0800011234", "8803" },
        { "FC08 diagnostic register", "0800020000", "0800020000" },
        { "FC08 force listen only is not served", "0800040000", "8801" },
        { "FC08 clear counters", "08000A0000", "08000A0000" },
        { "FC08 counter with non-zero data", "08000B0001", "8803" },
        { "FC08 bus communication errors", "08000C0000", "08000C0000" },
        { "FC08 unknown sub-function", "0800150000", "8801" },
        // FC07 Read Exception Status answers 01 on TCP (documented).
        { "FC07", "07", "8701" },
        // Unsupported function codes.
        { "FC18 Read FIFO", "180000", "9801" },
        { "FC41", "41", "C101" },
        { "FC00", "00", "8001" },
        // FC2B/0E Read Device Identification.
        { "2B basic stream", "2B0E0100", "2B0E0182000003" + Obj(0, "mcpd") + Obj(1, "MCPD-SIM") + Obj(2, Revision) },
        { "2B basic stream from an object outside the category restarts at 0", "2B0E0105", "2B0E0182000003" + Obj(0, "mcpd") + Obj(1, "MCPD-SIM") + Obj(2, Revision) },
        { "2B regular stream from object 1", "2B0E0201", "2B0E0282000004" + Obj(1, "MCPD-SIM") + Obj(2, Revision) + Obj(4, "mcpd simulated device") + Obj(5, "simulator") },
        { "2B regular stream from a missing object restarts at 0", "2B0E0203", "2B0E0282000005" + Obj(0, "mcpd") + Obj(1, "MCPD-SIM") + Obj(2, Revision) + Obj(4, "mcpd simulated device") + Obj(5, "simulator") },
        { "2B individual ModelName", "2B0E0405", "2B0E0482000001" + Obj(5, "simulator") },
        { "2B individual missing object", "2B0E0403", "AB02" },
        { "2B read code 0", "2B0E0000", "AB03" },
        { "2B read code 5", "2B0E0500", "AB03" },
        { "2B short PDU", "2B0E01", "AB03" },
        { "2B MEI 0x0D (CANopen) is not served", "2B0D0100", "AB01" },
    };

    private static string Revision => new DeviceIdentificationOptions().MajorMinorRevision;

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Request_gets_the_golden_response(string name, string request, string response)
    {
        var device = new SimulatedDevice(DeviceOptions.CreateBuiltInDefault());

        var actual = Execute(device, request);

        Assert.True(response == actual, $"{name}: expected {response}, got {actual}");
    }

    /// <summary>The vectors that fit a Modbus TCP frame (two request PDUs above exceed 253 bytes on purpose).</summary>
    public static TheoryData<string, string, string> FramableVectors()
    {
        var framable = new TheoryData<string, string, string>();
        foreach (var row in Vectors())
        {
            var (name, request, response) = row.Data;
            if (request.Length / 2 <= Protocols.Modbus.ModbusLimits.MaxPduLength)
            {
                framable.Add(name, request, response);
            }
        }

        return framable;
    }

    [Theory]
    [MemberData(nameof(FramableVectors))]
    public void Request_split_at_every_byte_boundary_decodes_to_the_same_answer(string name, string request, string response)
    {
        var pdu = Convert.FromHexString(request);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        Protocols.Modbus.ModbusTcpCodec.Encode(0x4242, 1, pdu, output);
        var adu = output.WrittenSpan.ToArray();

        for (var split = 1; split < adu.Length; split++)
        {
            var sequence = SegmentedSequence.Split(adu, split);

            var status = Protocols.Modbus.ModbusTcpCodec.Decode(sequence, out var frame, out var consumed);

            Assert.True(status == System.Buffers.OperationStatus.Done, $"{name}: split at {split} gave {status}");
            Assert.Equal(sequence.End, consumed);
            var copied = frame.CopyPduTo(new byte[253]);
            Assert.Equal(response, Execute(new SimulatedDevice(DeviceOptions.CreateBuiltInDefault()), Convert.ToHexString(copied)));
        }
    }

    [Fact]
    public void Mask_write_follows_the_spec_example()
    {
        var device = new SimulatedDevice(DeviceOptions.CreateBuiltInDefault());
        Execute(device, "0600040012");

        Assert.Equal("16000400F20025", Execute(device, "16000400F20025"));
        Assert.Equal("03020017", Execute(device, "0300040001"));
    }

    [Fact]
    public void Written_coils_read_back_packed_lowest_address_first()
    {
        var device = new SimulatedDevice(DeviceOptions.CreateBuiltInDefault());

        Execute(device, "0F0013000A02CD01");

        // The spec's FC0F example: outputs 20..29 = CD 01; read back from 20 with FC01.
        Assert.Equal("0102CD01", Execute(device, "010013000A"));
    }

    [Fact]
    public void Diagnostic_counters_count_messages_and_exceptions()
    {
        var device = new SimulatedDevice(DeviceOptions.CreateBuiltInDefault());
        Execute(device, "0300000001");
        Execute(device, "0300000001");
        Execute(device, "03FFFF0001");

        Assert.Equal("08000B0004", Execute(device, "08000B0000")); // bus messages, this one included
        Assert.Equal("08000D0001", Execute(device, "08000D0000")); // exception responses
        Assert.Equal("08000E0006", Execute(device, "08000E0000")); // server messages
        Assert.Equal("08000A0000", Execute(device, "08000A0000"));
        Assert.Equal("08000B0001", Execute(device, "08000B0000"));
    }

    [Fact]
    public void Comm_event_counter_counts_successful_completions_only()
    {
        var device = new SimulatedDevice(DeviceOptions.CreateBuiltInDefault());
        Execute(device, "0300000001");
        Execute(device, "03FFFF0001");
        Execute(device, "0B");

        // 6.9: exceptions and the FC0B poll itself are not counted.
        Assert.Equal("0B00000001", Execute(device, "0B"));
    }

    [Fact]
    public void Comm_event_log_lists_events_newest_first()
    {
        var device = new SimulatedDevice(DeviceOptions.CreateBuiltInDefault());
        Execute(device, "0300000001");
        Execute(device, "03FFFF0001");

        // byte count 6+5, status 0000, event count 1, message count 3, then: receive (this request), send with
        // read exception (0x41), receive, send, receive.
        Assert.Equal("0C0B0000000100038041804080", Execute(device, "0C"));
    }

    [Fact]
    public void Report_server_id_carries_unit_run_indicator_and_identity()
    {
        var device = new SimulatedDevice(DeviceOptions.CreateBuiltInDefault());

        var expected = System.Text.Encoding.ASCII.GetBytes($"mcpd MCPD-SIM {Revision}");
        Assert.Equal("11" + (expected.Length + 2).ToString("X2", null) + "01FF" + Convert.ToHexString(expected), Execute(device, "11"));
    }

    [Fact]
    public void Device_identification_pages_with_more_follows_and_never_splits_an_object()
    {
        var options = DeviceOptions.CreateBuiltInDefault();
        for (var id = 0x80; id < 0x88; id++)
        {
            options.Identification.Private[$"0x{id:X2}"] = new string((char)('A' + id - 0x80), 100);
        }

        var device = new SimulatedDevice(options);
        var seen = new List<int>();
        byte next = 0;
        for (var page = 0; page < 10; page++)
        {
            var response = Convert.FromHexString(Execute(device, $"2B0E03{next:X2}"));
            Assert.True(response.Length <= 253);
            Assert.Equal(0x83, response[3]); // conformity: extended + individual access
            var position = 7;
            for (var i = 0; i < response[6]; i++)
            {
                var length = response[position + 1];
                seen.Add(response[position]);
                if (response[position] >= 0x80)
                {
                    Assert.Equal(100, length);
                }

                position += 2 + length;
            }

            Assert.Equal(response.Length, position);
            if (response[4] == 0x00)
            {
                break;
            }

            Assert.Equal(0xFF, response[4]);
            next = response[5];
        }

        Assert.Equal([0, 1, 2, 4, 5, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87], seen);
    }

    private static string Obj(int id, string value) =>
        $"{id:X2}{value.Length:X2}{Convert.ToHexString(System.Text.Encoding.ASCII.GetBytes(value))}";

    private static string Execute(SimulatedDevice device, string requestHex)
    {
        var response = new byte[253];
        var length = device.Execute(Convert.FromHexString(requestHex), response);
        return Convert.ToHexString(response, 0, length);
    }
}
