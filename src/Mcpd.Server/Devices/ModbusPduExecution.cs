using System.Buffers;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Connections;
using Microsoft.AspNetCore.Connections;

namespace Mcpd.Server.Devices;

/// <summary>
/// The one way a connection executes a Modbus request PDU on an <see cref="IModbusDevice"/>: Modbus TCP
/// (<c>ModbusConnection</c>) and MCP's <c>modbus.pdu</c> inline path both come here. The PDU travels in a pooled
/// scratch block of 2 x <see cref="ScratchHalf"/> bytes: request in the first half, response in the second.
/// </summary>
internal static class ModbusPduExecution
{
    /// <summary>Half of a scratch block; a PDU is at most 253 bytes (Application Protocol 4.1).</summary>
    public const int ScratchHalf = 256;

    /// <summary>A scratch block from the shared pool; returned by whoever holds it when the answer is written.</summary>
    public static byte[] RentScratch() => ArrayPool<byte>.Shared.Rent(2 * ScratchHalf);

    /// <summary>Exception 04 for <paramref name="function"/>: the device failed (Application Protocol 7), as for an exception thrown by it.</summary>
    public static int WriteDeviceFailure(Span<byte> response, byte function) =>
        ModbusResponsePdu.WriteException(response, function, ModbusExceptionCode.ServerDeviceFailure);

    /// <summary>
    /// Runs the request PDU in <c>scratch[0..requestLength)</c> on <paramref name="device"/>; the response goes to
    /// <c>scratch[ScratchHalf..]</c>. Returns the response length when the device answered at once, a failure
    /// answering exception 04 (reported through <paramref name="onFailure"/>); returns -1 when the device went
    /// asynchronous: the scratch block then belongs to the pending request, which takes an in-flight slot of
    /// <paramref name="connection"/>, calls <paramref name="writeAnswer"/> under its write lock and returns the block
    /// to the pool. Static delegates and a struct state keep the synchronous path allocation-free.
    /// </summary>
    public static int Execute<TState>(
        ProtocolConnection connection, IModbusDevice device, byte[] scratch, int requestLength, TState state,
        Action<TState, Exception> onFailure, Action<TState, byte[], int> writeAnswer)
    {
        ValueTask<int> execution;
        try
        {
            // A simulated device answers at once: there is nothing to cancel, so the connection's token (made on first
            // use) is not asked for, and an idle connection that was served this way keeps no token source.
            execution = device is SimulatedDevice simulated
                ? new ValueTask<int>(simulated.Execute(scratch.AsSpan(0, requestLength), scratch.AsSpan(ScratchHalf, ScratchHalf)))
                : device.ExecuteAsync(scratch.AsMemory(0, requestLength), scratch.AsMemory(ScratchHalf, ScratchHalf), new ModbusCaller(connection.ConnectionId), connection.RequestsAborted);
        }
        catch (Exception ex)
        {
            execution = ValueTask.FromException<int>(ex);
        }

        if (!execution.IsCompleted)
        {
            connection.BeginInFlight();
            _ = AnswerLaterAsync(connection, execution, scratch, state, onFailure, writeAnswer);
            return -1;
        }

        if (execution.IsCompletedSuccessfully)
        {
            return execution.Result;
        }

        try
        {
            execution.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            onFailure(state, ex);
        }

        return WriteDeviceFailure(scratch.AsSpan(ScratchHalf), scratch[0]);
    }

    private static async Task AnswerLaterAsync<TState>(
        ProtocolConnection connection, ValueTask<int> execution, byte[] scratch, TState state, Action<TState, Exception> onFailure, Action<TState, byte[], int> writeAnswer)
    {
        try
        {
            int length;
            try
            {
                length = await execution;
            }
            catch (Exception ex) when (!connection.RequestsAborted.IsCancellationRequested)
            {
                onFailure(state, ex);
                length = WriteDeviceFailure(scratch.AsSpan(ScratchHalf), scratch[0]);
            }

            await connection.WriteAsync((state, scratch, length, writeAnswer), static answer => answer.writeAnswer(answer.state, answer.scratch, answer.length), CancellationToken.None);
        }
        catch (Exception ex) when (ex is ConnectionResetException or ConnectionAbortedException or IOException or OperationCanceledException or InvalidOperationException)
        {
            // The connection ended while the device worked; nobody is left to answer.
            connection.OnTransportEnded(ex.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
            connection.EndInFlight();
        }
    }
}
