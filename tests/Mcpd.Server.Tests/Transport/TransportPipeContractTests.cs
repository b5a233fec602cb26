using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Mcpd.Server.Transport;
using Microsoft.AspNetCore.Connections;

namespace Mcpd.Server.Tests.Transport;

/// <summary>
/// The contract of a transport's PipeReader and PipeWriter, over real loopback connections. Kestrel's socket transport
/// (pipes of System.IO.Pipelines) is the reference: mcpd's epoll transport must behave the same where the contract
/// says, with the application's code inline on the event loop or on the thread pool, and a few rules the reference
/// leaves open are stated for the epoll transport alone.
/// </summary>
public abstract class TransportPipeContractTests(TransportKind transport, ApplicationScheduling scheduling = ApplicationScheduling.Inline)
{
    private protected static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private protected Task<LoopbackConnection> OpenAsync(int maxReadBufferSize = 1024 * 1024) =>
        LoopbackConnection.OpenAsync(transport, scheduling, maxReadBufferSize);

    [Fact]
    public async Task Writing_after_Complete_throws_and_what_was_written_before_is_still_sent()
    {
        await using var connection = await OpenAsync();
        var output = connection.Server.Transport.Output;
        Write(output, "flushed "u8);
        await output.FlushAsync();
        Write(output, "unflushed"u8);

        await output.CompleteAsync();

        Assert.Equal("Writing is not allowed after writer was completed.", Assert.Throws<InvalidOperationException>(() => output.GetSpan()).Message);
        Assert.Throws<InvalidOperationException>(() => output.GetMemory());
        output.Advance(0);
        await output.FlushAsync();
        await connection.Server.DisposeAsync();
        Assert.Equal("flushed unflushed"u8.ToArray(), await connection.ReceiveAsync(64));
    }

    [Fact]
    public async Task Flush_after_the_peer_reset_the_connection_reports_IsCompleted()
    {
        await using var connection = await OpenAsync();
        var output = connection.Server.Transport.Output;
        connection.Client.LingerState = new LingerOption(true, 0);
        connection.Client.Close();

        var deadline = DateTime.UtcNow + Bound;
        FlushResult result;
        do
        {
            Write(output, new byte[1024]);
            result = await output.FlushAsync().AsTask().WaitAsync(Bound);
            if (!result.IsCompleted)
            {
                await Task.Delay(10);
            }
        }
        while (!result.IsCompleted && DateTime.UtcNow < deadline);

        Assert.True(result.IsCompleted);
        Assert.False(result.IsCanceled);
    }

    [Fact]
    public async Task CancelPendingFlush_before_a_flush_cancels_the_next_one_only()
    {
        await using var connection = await OpenAsync();
        var output = connection.Server.Transport.Output;

        output.CancelPendingFlush();
        Write(output, "a"u8);
        var first = await output.FlushAsync();
        Write(output, "b"u8);
        var second = await output.FlushAsync();

        Assert.True(first.IsCanceled);
        Assert.False(second.IsCanceled);
        Assert.Equal("ab"u8.ToArray(), await connection.ReceiveAsync(2));
    }

    [Fact]
    public async Task A_flush_waits_for_a_peer_that_stops_reading_then_CancelPendingFlush_ends_it_once()
    {
        await using var connection = await OpenAsync();
        var output = connection.Server.Transport.Output;
        var pending = await FlushUntilPendingAsync(output);

        output.CancelPendingFlush();
        var canceled = await pending.WaitAsync(Bound);

        Assert.True(canceled.IsCanceled);
        Assert.False(canceled.IsCompleted);
        var next = output.FlushAsync().AsTask();
        var drained = DrainClientAsync(connection);
        var result = await next.WaitAsync(Bound);
        Assert.False(result.IsCanceled);
        Assert.False(result.IsCompleted);
        await output.CompleteAsync();
        await connection.Server.DisposeAsync();
        Assert.True(await drained.WaitAsync(Bound) > 0);
    }

    [Fact]
    public async Task A_flush_to_a_peer_that_stops_reading_completes_when_the_peer_reads_everything()
    {
        await using var connection = await OpenAsync();
        var output = connection.Server.Transport.Output;
        var pattern = Enumerable.Range(0, 4 << 20).Select(i => (byte)(i * 7)).ToArray();
        Write(output, pattern);

        var flush = output.FlushAsync().AsTask();
        await Task.Delay(200);
        Assert.False(flush.IsCompleted);

        var received = connection.ReceiveAsync(pattern.Length);
        var result = await flush.WaitAsync(Bound);
        Assert.False(result.IsCanceled);
        Assert.False(result.IsCompleted);
        Assert.Equal(pattern, await received.WaitAsync(Bound));
    }

    [Fact]
    public async Task Input_beyond_the_read_buffer_limit_waits_in_the_peer_until_the_application_consumes()
    {
        const int Limit = 64 * 1024;
        await using var connection = await OpenAsync(maxReadBufferSize: Limit);
        var input = connection.Server.Transport.Input;
        var payload = Enumerable.Range(0, 16 << 20).Select(i => (byte)i).ToArray();
        var sending = connection.Client.SendAsync(payload);

        // Examine everything, consume nothing, then hold the result: the transport must stop receiving near the limit.
        var held = await ReadAtLeastAsync(input, Limit);
        await Task.Delay(300);
        Assert.InRange(held.Buffer.Length, Limit, 2 * Limit);
        Assert.False(sending.IsCompleted);

        long total = held.Buffer.Length;
        input.AdvanceTo(held.Buffer.End);
        while (total < payload.Length)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(Bound);
            total += result.Buffer.Length;
            input.AdvanceTo(result.Buffer.End);
        }

        Assert.Equal(payload.Length, await sending.WaitAsync(Bound));
        Assert.Equal(payload.Length, total);
    }

    [Fact]
    public async Task CancelPendingRead_gives_IsCanceled_once_whether_a_read_is_pending_or_not()
    {
        await using var connection = await OpenAsync();
        var input = connection.Server.Transport.Input;

        var pending = input.ReadAsync().AsTask();
        input.CancelPendingRead();
        var canceled = await pending.WaitAsync(Bound);
        Assert.True(canceled.IsCanceled);
        input.AdvanceTo(canceled.Buffer.End);

        input.CancelPendingRead();
        var early = await input.ReadAsync().AsTask().WaitAsync(Bound);
        Assert.True(early.IsCanceled);
        input.AdvanceTo(early.Buffer.End);

        var next = input.ReadAsync().AsTask();
        await Task.Delay(50);
        Assert.False(next.IsCompleted);
        await connection.Client.SendAsync("x"u8.ToArray());
        var data = await next.WaitAsync(Bound);
        Assert.False(data.IsCanceled);
        Assert.Equal("x"u8.ToArray(), data.Buffer.ToArray());
    }

    [Fact]
    public async Task Examined_bytes_come_back_only_with_more_data()
    {
        await using var connection = await OpenAsync();
        var input = connection.Server.Transport.Input;
        await connection.Client.SendAsync("0123456789"u8.ToArray());
        var first = await ReadAtLeastAsync(input, 10);

        input.AdvanceTo(first.Buffer.GetPosition(4), first.Buffer.End);
        var next = input.ReadAsync().AsTask();
        await Task.Delay(100);
        Assert.False(next.IsCompleted);

        await connection.Client.SendAsync("A"u8.ToArray());
        var second = await next.WaitAsync(Bound);
        Assert.Equal("456789A"u8.ToArray(), second.Buffer.ToArray());
        input.AdvanceTo(second.Buffer.End);
    }

    [Fact]
    public async Task AdvanceTo_breaking_the_rules_throws_as_Pipe_does()
    {
        await using var connection = await OpenAsync();
        var input = connection.Server.Transport.Input;

        Assert.Equal("No reading operation to complete.", Assert.Throws<InvalidOperationException>(() => input.AdvanceTo(default)).Message);
        await connection.Client.SendAsync("0123456789"u8.ToArray());
        var result = await ReadAtLeastAsync(input, 10);
        Assert.Equal("Reading is already in progress.", Assert.Throws<InvalidOperationException>(() => input.TryRead(out _)).Message);
        Assert.Equal(
            "The examined position must be greater than or equal to the consumed position.",
            Assert.Throws<InvalidOperationException>(() => input.AdvanceTo(result.Buffer.GetPosition(5), result.Buffer.GetPosition(2))).Message);
    }

    [Fact]
    public async Task Reading_after_Complete_throws()
    {
        await using var connection = await OpenAsync();
        var input = connection.Server.Transport.Input;

        await input.CompleteAsync();

        const string Message = "Reading is not allowed after reader was completed.";
        Assert.Equal(Message, (await Assert.ThrowsAsync<InvalidOperationException>(() => input.ReadAsync().AsTask())).Message);
        Assert.Equal(Message, Assert.Throws<InvalidOperationException>(() => input.TryRead(out _)).Message);
        Assert.Equal(Message, Assert.Throws<InvalidOperationException>(() => input.AdvanceTo(default)).Message);
        input.CancelPendingRead();
    }

    [Fact]
    public async Task The_end_of_the_stream_comes_with_the_bytes_left_and_stays()
    {
        await using var connection = await OpenAsync();
        var input = connection.Server.Transport.Input;
        await connection.Client.SendAsync("tail"u8.ToArray());
        connection.Client.Shutdown(SocketShutdown.Send);

        ReadResult result;
        while (!(result = await input.ReadAsync().AsTask().WaitAsync(Bound)).IsCompleted)
        {
            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }

        Assert.Equal("tail"u8.ToArray(), result.Buffer.ToArray());
        input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        var again = await input.ReadAsync().AsTask().WaitAsync(Bound);
        Assert.True(again.IsCompleted);
        Assert.Equal(4, again.Buffer.Length);
        input.AdvanceTo(again.Buffer.End);
    }

    /// <summary>Writes 0xEE until the writer refuses: IsCompleted, or the InvalidOperationException of a completed writer.</summary>
    private protected static async Task WriteUntilRefusedAsync(PipeWriter output)
    {
        try
        {
            while (true)
            {
                output.GetSpan(256)[..256].Fill(0xEE);
                output.Advance(256);
                if ((await output.FlushAsync()).IsCompleted)
                {
                    return;
                }
            }
        }
        catch (InvalidOperationException ex) when (ex.Message == "Writing is not allowed after writer was completed.")
        {
        }
    }

    private protected static void Write(PipeWriter output, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    /// <summary>Writes and flushes 1 MiB blocks to a peer that does not read until a flush stays pending.</summary>
    private protected static async Task<Task<FlushResult>> FlushUntilPendingAsync(PipeWriter output, CancellationToken cancellationToken = default)
    {
        var block = new byte[1 << 20];
        for (var i = 0; i < 64; i++)
        {
            Write(output, block);
            var flush = output.FlushAsync(cancellationToken).AsTask();
            if (!flush.IsCompleted)
            {
                await Task.Delay(50, CancellationToken.None);
                if (!flush.IsCompleted)
                {
                    return flush;
                }
            }

            await flush;
        }

        throw new InvalidOperationException("64 MiB were flushed to a peer that does not read.");
    }

    /// <summary>Reads what the server sends until it closes (an aborted connection may end with a reset); returns the count.</summary>
    private protected static async Task<long> DrainClientAsync(LoopbackConnection connection)
    {
        var buffer = new byte[1 << 16];
        long total = 0;
        try
        {
            int n;
            while ((n = await connection.Client.ReceiveAsync(buffer)) > 0)
            {
                total += n;
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
        }

        return total;
    }

    private protected static async Task<ReadResult> ReadAtLeastAsync(PipeReader input, int count)
    {
        while (true)
        {
            var result = await input.ReadAsync().AsTask().WaitAsync(Bound);
            if (result.Buffer.Length >= count || result.IsCompleted)
            {
                return result;
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}

/// <summary>The contract over Kestrel's socket transport: the reference.</summary>
public sealed class TransportPipeContractTestsOnSockets() : TransportPipeContractTests(TransportKind.Sockets);

/// <summary>The contract over mcpd's epoll transport with the application's code on the thread pool.</summary>
public sealed class TransportPipeContractTestsOnEpollThreadPool() : EpollTransportPipeContractTests(ApplicationScheduling.ThreadPool);

/// <summary>The contract over mcpd's epoll transport with the application's code inline on the loop (the default).</summary>
public sealed class TransportPipeContractTestsOnEpoll() : EpollTransportPipeContractTests(ApplicationScheduling.Inline);

/// <summary>The contract over mcpd's epoll transport, and what the epoll transport promises beyond the reference.</summary>
public abstract class EpollTransportPipeContractTests(ApplicationScheduling scheduling) : TransportPipeContractTests(TransportKind.Epoll, scheduling)
{
    [Fact]
    public async Task A_second_flush_while_one_is_pending_throws()
    {
        await using var connection = await OpenAsync();
        var output = connection.Server.Transport.Output;
        var pending = await FlushUntilPendingAsync(output);

        // Thrown by FlushAsync itself, not by the task it would return.
        Assert.Throws<InvalidOperationException>(() => { _ = output.FlushAsync().AsTask(); });
        output.CancelPendingFlush();
        Assert.True((await pending).IsCanceled);
    }

    [Fact]
    public async Task A_flush_whose_token_is_cancelled_while_pending_throws_OperationCanceledException()
    {
        await using var connection = await OpenAsync();
        var output = connection.Server.Transport.Output;
        using var cancellation = new CancellationTokenSource();
        var pending = await FlushUntilPendingAsync(output, cancellation.Token);

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(Bound));
    }

    /// <summary>
    /// Not a rule of the reference: Pipe's Advance throws ArgumentOutOfRangeException when Complete races a write
    /// (seen with Kestrel's socket transport), and the MCP connection's late server calls rely on an orderly refusal.
    /// </summary>
    [Fact]
    public async Task Flushes_racing_Abort_or_Dispose_end_with_documented_outcomes_and_never_reach_another_connection()
    {
        await using var connection = await OpenAsync();
        for (var round = 0; round < 20; round++)
        {
            var victim = connection.Server;
            var reading = DrainClientAsync(connection);
            var writing = Task.Run(() => WriteUntilRefusedAsync(victim.Transport.Output));
            await Task.Delay(2);
            if (round % 2 == 0)
            {
                victim.Abort(new ConnectionAbortedException("test"));
            }

            await victim.Transport.Output.CompleteAsync();
            await victim.DisposeAsync();
            await reading.WaitAsync(Bound);
            connection.Client.Dispose();

            // The next connection may well get the old descriptor number: nothing of the old writer may reach it.
            await connection.AcceptAnotherAsync();
            await Task.Delay(10);
            await writing.WaitAsync(Bound);
            Assert.Equal(0, connection.Client.Available);
        }
    }

    [Fact]
    public async Task AdvanceTo_a_position_outside_the_held_buffer_throws()
    {
        await using var connection = await OpenAsync();
        var input = connection.Server.Transport.Input;
        await connection.Client.SendAsync("0123456789"u8.ToArray());
        var first = await ReadAtLeastAsync(input, 10);
        var earlier = first.Buffer.GetPosition(2);
        input.AdvanceTo(first.Buffer.GetPosition(5), first.Buffer.End);
        await connection.Client.SendAsync("A"u8.ToArray());
        var second = await ReadAtLeastAsync(input, 6);

        Assert.Throws<ArgumentOutOfRangeException>(() => input.AdvanceTo(earlier));
        var pastTheEnd = new SequencePosition(second.Buffer.End.GetObject(), second.Buffer.End.GetInteger() + 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => input.AdvanceTo(pastTheEnd));
        input.AdvanceTo(second.Buffer.End);
    }
}
