using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;
using Mcpd.Server.Telemetry;

namespace Mcpd.Benchmarks;

/// <summary>
/// The synchronous per-batch path of <c>ModbusConnection.AnswerBatch</c>: decode every ADU of a read, copy the PDU
/// into a pooled scratch block, execute it on a <see cref="SimulatedDevice"/>, encode the response into the output
/// writer, and record the request in <see cref="McpdMetrics"/> (count and latency) as the connection does, with
/// <see cref="Listener"/> listening to the meter. The output is a preallocated <see cref="ArrayBufferWriter{T}"/>
/// reset before each operation, so the Allocated column measures the server path only: 0 B with every listener.
/// </summary>
[MemoryDiagnoser]
public class ModbusRequestBenchmarks
{
    /// <summary>As in ModbusConnection: request PDU in the first half of the scratch block, response in the second.</summary>
    private const int ScratchHalf = 256;

    private const int BatchSize = 16;
    private const byte UnitId = 1;
    private const int RegisterCount = 10;

    private SimulatedDevice _device = null!;
    private MetricsListening _metrics = null!;
    private ArrayBufferWriter<byte> _output = null!;
    private ReadOnlySequence<byte> _fc03Single;
    private ReadOnlySequence<byte> _fc03Batch;
    private ReadOnlySequence<byte> _fc10Single;

    /// <summary>Who listens to the <c>Mcpd</c> meter.</summary>
    [Params(MetricsListener.None, MetricsListener.MeterListener, MetricsListener.OpenTelemetry)]
    public MetricsListener Listener { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _metrics = new MetricsListening(Listener);
        _device = new SimulatedDevice(DeviceOptions.CreateBuiltInDefault());
        // Room for a whole batch of the largest response, so GetSpan never grows the buffer.
        _output = new ArrayBufferWriter<byte>(BatchSize * ModbusLimits.MaxTcpAduLength);

        _fc03Single = new ReadOnlySequence<byte>(ReadHoldingRegistersAdu(transactionId: 1));

        var batch = new byte[BatchSize * (ModbusLimits.MbapHeaderLength + 5)];
        for (var i = 0; i < BatchSize; i++)
        {
            ReadHoldingRegistersAdu((ushort)(i + 1)).CopyTo(batch, i * (ModbusLimits.MbapHeaderLength + 5));
        }

        _fc03Batch = new ReadOnlySequence<byte>(batch);
        _fc10Single = new ReadOnlySequence<byte>(WriteMultipleRegistersAdu(transactionId: 1));

        // Sanity: each request is answered with a normal (non-exception) response.
        Verify(_fc03Single, 1, 7 + 2 + (2 * RegisterCount));
        Verify(_fc03Batch, BatchSize, BatchSize * (7 + 2 + (2 * RegisterCount)));
        Verify(_fc10Single, 1, 7 + 5);
        _metrics.EnsureListened();
    }

    [GlobalCleanup]
    public void Cleanup() => _metrics.Dispose();

    [Benchmark]
    public int DecodeHandleEncode_Fc03_10Registers() => AnswerBatch(_fc03Single);

    [Benchmark]
    public int DecodeHandleEncode_Fc03_Batch16() => AnswerBatch(_fc03Batch);

    [Benchmark]
    public int DecodeHandleEncode_Fc10_Write10Registers() => AnswerBatch(_fc10Single);

    /// <summary>The synchronous-device path of ModbusConnection.AnswerBatch/Answer/WriteResponse; returns bytes written.</summary>
    private int AnswerBatch(ReadOnlySequence<byte> buffer)
    {
        _output.ResetWrittenCount();
        var scratch = ArrayPool<byte>.Shared.Rent(2 * ScratchHalf);
        try
        {
            while (ModbusTcpCodec.Decode(buffer, out var frame, out var end) == OperationStatus.Done)
            {
                buffer = buffer.Slice(end);
                if (frame.Header.ProtocolId != 0)
                {
                    continue;
                }

                var started = Stopwatch.GetTimestamp();
                var requestLength = frame.CopyPduTo(scratch).Length;
                var response = scratch.AsSpan(ScratchHalf, ScratchHalf);
                var responseLength = _device.Execute(scratch.AsSpan(0, requestLength), response);
                _metrics.Metrics.ModbusRequest(scratch[0], response[..responseLength], started, Stopwatch.GetTimestamp());
                ModbusTcpCodec.Encode(frame.Header.TransactionId, frame.Header.UnitId, response[..responseLength], _output);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }

        return _output.WrittenCount;
    }

    private void Verify(ReadOnlySequence<byte> request, int expectedResponses, int expectedBytes)
    {
        var written = AnswerBatch(request);
        var responses = _output.WrittenSpan;
        for (var i = 0; i < expectedResponses && written == expectedBytes; i++)
        {
            var aduLength = written / expectedResponses;
            if ((responses[(i * aduLength) + ModbusLimits.MbapHeaderLength] & ModbusLimits.ExceptionFlag) != 0)
            {
                throw new InvalidOperationException($"Response {i} is a Modbus exception.");
            }
        }

        if (written != expectedBytes)
        {
            throw new InvalidOperationException($"Expected {expectedBytes} response bytes, got {written}.");
        }
    }

    /// <summary>FC03, unit 1, address 0, quantity 10.</summary>
    private static byte[] ReadHoldingRegistersAdu(ushort transactionId)
    {
        var adu = new byte[ModbusLimits.MbapHeaderLength + 5];
        new MbapHeader(transactionId, 0, 1 + 5, UnitId).Write(adu);
        var pdu = adu.AsSpan(ModbusLimits.MbapHeaderLength);
        pdu[0] = (byte)ModbusFunctionCode.ReadHoldingRegisters;
        BinaryPrimitives.WriteUInt16BigEndian(pdu[1..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(pdu[3..], RegisterCount);
        return adu;
    }

    /// <summary>FC10, unit 1, address 0, 10 registers with values 1..10.</summary>
    private static byte[] WriteMultipleRegistersAdu(ushort transactionId)
    {
        const int pduLength = 6 + (2 * RegisterCount);
        var adu = new byte[ModbusLimits.MbapHeaderLength + pduLength];
        new MbapHeader(transactionId, 0, 1 + pduLength, UnitId).Write(adu);
        var pdu = adu.AsSpan(ModbusLimits.MbapHeaderLength);
        pdu[0] = (byte)ModbusFunctionCode.WriteMultipleRegisters;
        BinaryPrimitives.WriteUInt16BigEndian(pdu[1..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(pdu[3..], RegisterCount);
        pdu[5] = 2 * RegisterCount;
        for (var i = 0; i < RegisterCount; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(pdu[(6 + (2 * i))..], (ushort)(i + 1));
        }

        return adu;
    }
}
