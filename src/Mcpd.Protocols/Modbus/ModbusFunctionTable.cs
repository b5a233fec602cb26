using System.Buffers;

namespace Mcpd.Protocols.Modbus;

/// <summary>
/// One <see cref="ModbusFunctionDescriptor"/> per function code (Modbus Application Protocol V1.1b3, section 6),
/// indexed by the code: a lookup is one array read, allocation-free. The RTU codec frames with it, the response
/// checks and the gateway's upstreams judge requests and answers with it. A new function code is one entry here.
/// </summary>
public static class ModbusFunctionTable
{
    /// <summary>An exception response is the function code with <see cref="ModbusLimits.ExceptionFlag"/> set and one exception code (7).</summary>
    public const int ExceptionResponseLength = 2;

    private static readonly ModbusFunctionDescriptor[] Descriptors = Build();

    /// <summary>The descriptor of <paramref name="function"/>; <see cref="ModbusFunctionDescriptor.IsKnown"/> is false for codes not in section 6.</summary>
    public static ref readonly ModbusFunctionDescriptor Get(byte function) => ref Descriptors[function];

    /// <summary>True when <paramref name="function"/> (a response's first byte) marks an exception response (7).</summary>
    public static bool IsException(byte function) => (function & ModbusLimits.ExceptionFlag) != 0;

    /// <summary>The length of the request PDU starting <paramref name="pdu"/> (see <see cref="ModbusFunctionDescriptor.RequestLength"/>).</summary>
    public static OperationStatus RequestLength(ReadOnlySpan<byte> pdu, out int length, out bool openEnded)
    {
        if (pdu.IsEmpty)
        {
            length = 0;
            openEnded = false;
            return OperationStatus.NeedMoreData;
        }

        return Get(pdu[0]).RequestLength(pdu, out length, out openEnded);
    }

    /// <summary>
    /// The length of the response PDU starting <paramref name="pdu"/>, answering <paramref name="request"/> (empty
    /// when unknown): an exception response is always <see cref="ExceptionResponseLength"/> bytes (7), a normal one
    /// follows its descriptor (see <see cref="ModbusFunctionDescriptor.ResponseLength"/>, which says when it is
    /// <paramref name="openEnded"/>).
    /// </summary>
    public static OperationStatus ResponseLength(ReadOnlySpan<byte> pdu, ReadOnlySpan<byte> request, out int length, out bool openEnded)
    {
        openEnded = false;
        if (pdu.IsEmpty)
        {
            length = 0;
            return OperationStatus.NeedMoreData;
        }

        if (IsException(pdu[0]))
        {
            length = ExceptionResponseLength;
            return OperationStatus.Done;
        }

        return Get(pdu[0]).ResponseLength(pdu, request, out length, out openEnded);
    }

    private static ModbusFunctionDescriptor[] Build()
    {
        const bool reads = true;
        const bool writes = false;
        // Lengths of the layouts of section 6, counted with the function code.
        const byte functionOnly = 1;        // 6.7, 6.9, 6.10, 6.13 requests
        const byte addressAndWord = 5;      // address (or sub-function) and quantity (or value)
        const byte maskWrite = 7;           // address, AND mask, OR mask (6.16)
        const byte fifoPointer = 3;         // FIFO pointer address (6.18)
        const byte subFunction = 3;         // sub-function (6.8)
        const byte meiType = 2;             // MEI type (6.19)
        const byte exceptionStatus = 2;     // output data (6.7)
        const byte countAfterFunction = 1;  // byte count right after the function code
        const byte countAfterQuantity = 5;  // address, quantity, then byte count (6.11, 6.12)
        const byte countAfterReadWrite = 9; // read address, read quantity, write address, write quantity, byte count (6.17)

        var table = new ModbusFunctionDescriptor[256];
        for (var code = 0; code < table.Length; code++)
        {
            table[code] = new ModbusFunctionDescriptor((ModbusFunctionCode)code, ModbusPduLayout.Unknown, 0, ModbusPduLayout.Unknown, 0, ModbusResponseShape.FunctionOnly, 1, writes);
        }

        Add(ModbusFunctionCode.ReadCoils, Fixed(addressAndWord), ByteCount(countAfterFunction), ModbusResponseShape.PackedBits, addressAndWord, reads);                              // 6.1
        Add(ModbusFunctionCode.ReadDiscreteInputs, Fixed(addressAndWord), ByteCount(countAfterFunction), ModbusResponseShape.PackedBits, addressAndWord, reads);                     // 6.2
        Add(ModbusFunctionCode.ReadHoldingRegisters, Fixed(addressAndWord), ByteCount(countAfterFunction), ModbusResponseShape.Registers, addressAndWord, reads);                    // 6.3
        Add(ModbusFunctionCode.ReadInputRegisters, Fixed(addressAndWord), ByteCount(countAfterFunction), ModbusResponseShape.Registers, addressAndWord, reads);                      // 6.4
        Add(ModbusFunctionCode.WriteSingleCoil, Fixed(addressAndWord), Fixed(addressAndWord), ModbusResponseShape.Echo, addressAndWord, writes);                                     // 6.5
        Add(ModbusFunctionCode.WriteSingleRegister, Fixed(addressAndWord), Fixed(addressAndWord), ModbusResponseShape.Echo, addressAndWord, writes);                                 // 6.6
        Add(ModbusFunctionCode.ReadExceptionStatus, Fixed(functionOnly), Fixed(exceptionStatus), ModbusResponseShape.FunctionOnly, functionOnly, reads);                             // 6.7
        Add(ModbusFunctionCode.Diagnostics, (ModbusPduLayout.Diagnostics, 0), (ModbusPduLayout.Diagnostics, 0), ModbusResponseShape.Diagnostics, subFunction, writes);                        // 6.8
        Add(ModbusFunctionCode.GetCommEventCounter, Fixed(functionOnly), Fixed(addressAndWord), ModbusResponseShape.FunctionOnly, functionOnly, reads);                              // 6.9: status, event count
        Add(ModbusFunctionCode.GetCommEventLog, Fixed(functionOnly), ByteCount(countAfterFunction), ModbusResponseShape.FunctionOnly, functionOnly, reads);                          // 6.10
        Add(ModbusFunctionCode.WriteMultipleCoils, ByteCount(countAfterQuantity), Fixed(addressAndWord), ModbusResponseShape.Echo, countAfterQuantity + 1, writes);                  // 6.11
        Add(ModbusFunctionCode.WriteMultipleRegisters, ByteCount(countAfterQuantity), Fixed(addressAndWord), ModbusResponseShape.Echo, countAfterQuantity + 1, writes);              // 6.12
        Add(ModbusFunctionCode.ReportServerId, Fixed(functionOnly), ByteCount(countAfterFunction), ModbusResponseShape.FunctionOnly, functionOnly, reads);                           // 6.13
        Add(ModbusFunctionCode.ReadFileRecord, ByteCount(countAfterFunction), ByteCount(countAfterFunction), ModbusResponseShape.FunctionOnly, countAfterFunction + 1, reads);       // 6.14
        Add(ModbusFunctionCode.WriteFileRecord, ByteCount(countAfterFunction), ByteCount(countAfterFunction), ModbusResponseShape.FunctionOnly, countAfterFunction + 1, writes);     // 6.15: an echo
        Add(ModbusFunctionCode.MaskWriteRegister, Fixed(maskWrite), Fixed(maskWrite), ModbusResponseShape.Echo, maskWrite, writes);                                                  // 6.16
        Add(ModbusFunctionCode.ReadWriteMultipleRegisters, ByteCount(countAfterReadWrite), ByteCount(countAfterFunction), ModbusResponseShape.Registers, countAfterReadWrite + 1, writes); // 6.17
        Add(ModbusFunctionCode.ReadFifoQueue, Fixed(fifoPointer), (ModbusPduLayout.WordByteCount, countAfterFunction), ModbusResponseShape.FunctionOnly, fifoPointer, reads);        // 6.18
        Add(ModbusFunctionCode.EncapsulatedInterfaceTransport, (ModbusPduLayout.EncapsulatedInterface, 0), (ModbusPduLayout.EncapsulatedInterface, 0), ModbusResponseShape.EncapsulatedInterface, meiType, reads); // 6.19, 6.21
        return table;

        void Add(ModbusFunctionCode code, (ModbusPduLayout Layout, byte Value) request, (ModbusPduLayout Layout, byte Value) response, ModbusResponseShape shape, int minRequestLength, bool sideEffectFree) =>
            table[(byte)code] = new ModbusFunctionDescriptor(code, request.Layout, request.Value, response.Layout, response.Value, shape, minRequestLength, sideEffectFree);

        static (ModbusPduLayout, byte) Fixed(byte length) => (ModbusPduLayout.Fixed, length);

        static (ModbusPduLayout, byte) ByteCount(byte countOffset) => (ModbusPduLayout.ByteCount, countOffset);
    }
}
