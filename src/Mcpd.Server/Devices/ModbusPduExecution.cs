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

    /// <summary>
    /// A scratch block; hand it back with <see cref="ReturnScratch"/> when the answer is written. Kept in a
    /// <see cref="ReusePool{T}"/>: a gateway has a block out for every request in flight (hundreds), more than the
    /// shared array pool keeps of one size, which then allocated a new one for most of them.
    /// </summary>
    public static byte[] RentScratch() => ReusePool<byte[]>.TryTake() ?? new byte[2 * ScratchHalf];

    /// <summary>Takes back a block of <see cref="RentScratch"/> for the next request.</summary>
    public static void ReturnScratch(byte[] scratch) => ReusePool<byte[]>.Give(scratch);

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
            PendingAnswer<TState>.Start(connection, execution, scratch, state, onFailure, writeAnswer);
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

    /// <summary>
    /// A request whose device answers later: waits for the answer, writes it under the connection's write lock, returns
    /// the scratch block and the in-flight slot. One object per request in flight, kept for reuse in a
    /// <see cref="ReusePool{T}"/> (an async method's box would be new garbage for each of the many requests a gateway
    /// has in flight), continued with the execution context of the request's start, as an await would be.
    /// Invariant: between <see cref="Start"/> and <see cref="Finish"/> it belongs to one request; in a free list, to none.
    /// </summary>
    private sealed class PendingAnswer<TState>
    {
        private static readonly ContextCallback s_continue = static pending => ((PendingAnswer<TState>)pending!).Continue();

        private readonly Action _onCompleted;
        private ProtocolConnection? _connection;
        private ValueTask<int> _execution;
        private byte[]? _scratch;
        private TState _state = default!;
        private Action<TState, Exception>? _onFailure;
        private Action<TState, byte[], int>? _writeAnswer;
        private ExecutionContext? _context;

        private PendingAnswer() => _onCompleted = OnCompleted;

        public static void Start(
            ProtocolConnection connection, ValueTask<int> execution, byte[] scratch, TState state, Action<TState, Exception> onFailure, Action<TState, byte[], int> writeAnswer)
        {
            var pending = ReusePool<PendingAnswer<TState>>.TryTake() ?? new PendingAnswer<TState>();
            (pending._connection, pending._execution, pending._scratch, pending._state, pending._onFailure, pending._writeAnswer) =
                (connection, execution, scratch, state, onFailure, writeAnswer);
            pending._context = ExecutionContext.Capture();
            execution.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(pending._onCompleted);
        }

        private void OnCompleted()
        {
            if (_context is { } context)
            {
                ExecutionContext.Run(context, s_continue, this);
            }
            else
            {
                Continue();
            }
        }

        private void Continue()
        {
            var connection = _connection!;
            int length;
            try
            {
                length = _execution.GetAwaiter().GetResult();
            }
            catch (Exception ex) when (!connection.RequestsAborted.IsCancellationRequested)
            {
                _onFailure!(_state, ex);
                length = WriteDeviceFailure(_scratch.AsSpan(ScratchHalf), _scratch![0]);
            }
            catch (Exception ex)
            {
                // The connection ended while the device worked; nobody is left to answer.
                EndedWithoutAnswer(connection, ex);
                Finish();
                return;
            }

            var write = connection.WriteAsync((_state, _scratch!, length, _writeAnswer!), static answer => answer.Item4(answer.Item1, answer.Item2, answer.Item3), CancellationToken.None);
            if (write.IsCompleted)
            {
                Written(write);
            }
            else
            {
                // The write lock or the socket made it wait (rare): finished when the write is.
                write.ContinueWith(static (write, pending) => ((PendingAnswer<TState>)pending!).Written(write), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }

        private void Written(Task write)
        {
            try
            {
                write.GetAwaiter().GetResult();
            }
            catch (Exception ex)
            {
                EndedWithoutAnswer(_connection!, ex);
            }

            Finish();
        }

        /// <summary>The scratch block back to its pool, the in-flight slot released, this object free for the next request.</summary>
        private void Finish()
        {
            var connection = _connection!;
            ReturnScratch(_scratch!);
            (_connection, _execution, _scratch, _state, _onFailure, _writeAnswer, _context) = (null, default, null, default!, null, null, null);
            connection.EndInFlight();
            ReusePool<PendingAnswer<TState>>.Give(this);
        }

        /// <summary>The connection ended while the request was answered: what its end means is said once, by the connection.</summary>
        private static void EndedWithoutAnswer(ProtocolConnection connection, Exception ex)
        {
            if (ex is ConnectionResetException or ConnectionAbortedException or IOException or OperationCanceledException or InvalidOperationException)
            {
                connection.OnTransportEnded(ex.Message);
            }
        }
    }
}
