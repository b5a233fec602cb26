using System.Security.Authentication;

namespace Mcpd.Client.Modbus;

/// <summary>
/// The requests of one <see cref="ModbusTcpClient"/> waiting for their answer, by transaction id, and the free
/// <see cref="ModbusExchange"/>s to reuse. Ids still waiting are skipped when a new one is taken (1..65535, cyclic),
/// so a late answer can never be matched to a newer request; an answer nobody waits for is dropped. Timeouts are
/// found by one sweep every <see cref="SweepPeriod"/> over the tables of the process that have requests waiting (one
/// timer for all of them, never a timer per request or per connection), so a request fails between its timeout and
/// its timeout plus one period. After <see cref="FailAll"/> every waiter fails and no request can be registered any
/// more. Thread-safe.
/// </summary>
internal sealed class ModbusExchangeTable : IDisposable
{
    /// <summary>How often waiting requests are checked for their deadline.</summary>
    public static readonly TimeSpan SweepPeriod = TimeSpan.FromMilliseconds(10);

    private static readonly Lock s_armedLock = new();
    private static readonly List<ModbusExchangeTable> s_armed = [];
    private static readonly ITimer s_sweep = TimeProvider.System.CreateTimer(static _ => SweepArmed(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    private static ModbusExchangeTable[] s_sweeping = [];
    private static int s_sweepRunning;

    private readonly Lock _sync = new();
    private readonly Dictionary<ushort, ModbusExchange> _waiting = [];
    private readonly Stack<ModbusExchange> _free = new();
    private readonly string _peer;
    private readonly Action<long> _onSweep;
    private bool _sweepArmed;
    private ushort _lastId;
    private Exception? _failure;

    /// <param name="peer">Names the other end in the exceptions of waiters.</param>
    /// <param name="onSweep">Called on every sweep with its timestamp, outside the lock (the client checks its writes there).</param>
    public ModbusExchangeTable(string peer, Action<long> onSweep)
    {
        _peer = peer;
        _onSweep = onSweep;
    }

    /// <summary>True after <see cref="FailAll"/>: the connection is gone.</summary>
    public bool IsClosed => Volatile.Read(ref _failure) is not null;

    /// <summary>
    /// An exchange for a new request, started (<see cref="ModbusExchange.Start"/>) before anyone else can see it, with
    /// the next free id, waiting from now on; <paramref name="completion"/> is what its caller awaits.
    /// </summary>
    /// <exception cref="IOException">The connection is closed.</exception>
    /// <exception cref="AuthenticationException">The connection was closed because the server refused this client's certificate.</exception>
    /// <exception cref="InvalidOperationException">Every id is in flight.</exception>
    public ModbusExchange Register(byte unit, ReadOnlyMemory<byte> request, Memory<byte> response, TimeSpan timeout, bool inline, out ValueTask<int> completion)
    {
        bool arm;
        ModbusExchange exchange;
        lock (_sync)
        {
            if (_failure is not null)
            {
                throw ClosedFailure(_failure, "is closed");
            }

            if (_waiting.Count >= ushort.MaxValue)
            {
                throw new InvalidOperationException($"All {ushort.MaxValue} transaction ids are in flight.");
            }

            do
            {
                _lastId = _lastId == ushort.MaxValue ? (ushort)1 : (ushort)(_lastId + 1);
            }
            while (_waiting.ContainsKey(_lastId));

            exchange = _free.TryPop(out var reused) ? reused : new ModbusExchange(this);
            completion = exchange.Start(unit, request, response, timeout, inline);
            exchange.TransactionId = _lastId;
            _waiting[_lastId] = exchange;
            arm = !_sweepArmed;
            _sweepArmed = true;
        }

        if (arm)
        {
            Arm(this);
        }

        return exchange;
    }

    /// <summary>Takes the exchange waiting for <paramref name="transactionId"/> out of the table; null when none waits (any more).</summary>
    public ModbusExchange? TryTake(ushort transactionId)
    {
        lock (_sync)
        {
            return _waiting.Remove(transactionId, out var exchange) ? exchange : null;
        }
    }

    /// <summary>Takes <paramref name="exchange"/> out of the table if it still waits there.</summary>
    public bool TryTake(ModbusExchange exchange)
    {
        lock (_sync)
        {
            return _waiting.TryGetValue(exchange.TransactionId, out var waiting) && waiting == exchange && _waiting.Remove(exchange.TransactionId);
        }
    }

    /// <summary>An exchange whose caller has its result, free for the next request.</summary>
    public void Recycle(ModbusExchange exchange)
    {
        lock (_sync)
        {
            _free.Push(exchange);
        }
    }

    /// <summary>Fails every waiter: with an <see cref="AuthenticationException"/> when the server refused this client's certificate, else an <see cref="IOException"/> naming <paramref name="failure"/>.</summary>
    public void FailAll(Exception failure)
    {
        ModbusExchange[] waiting;
        lock (_sync)
        {
            _failure ??= failure;
            waiting = [.. _waiting.Values];
            _waiting.Clear();
        }

        foreach (var exchange in waiting)
        {
            exchange.Fail(ClosedFailure(failure, "closed before the answer arrived"));
        }
    }

    /// <summary>Leaves the sweep for good.</summary>
    public void Dispose()
    {
        lock (s_armedLock)
        {
            s_armed.RemoveAll(table => table == this);
        }
    }

    /// <summary>Puts <paramref name="table"/> in the sweep; the timer runs while any table is in it.</summary>
    private static void Arm(ModbusExchangeTable table)
    {
        lock (s_armedLock)
        {
            s_armed.Add(table);
            if (s_armed.Count == 1)
            {
                s_sweep.Change(SweepPeriod, SweepPeriod);
            }
        }
    }

    /// <summary>One tick: sweeps every armed table; those left without waiting requests leave, and the timer stops with the last.</summary>
    private static void SweepArmed()
    {
        // A tick that finds the previous one still running skips: the next tick sweeps.
        if (Interlocked.Exchange(ref s_sweepRunning, 1) == 1)
        {
            return;
        }

        try
        {
            int count;
            lock (s_armedLock)
            {
                count = s_armed.Count;
                if (s_sweeping.Length < count)
                {
                    s_sweeping = new ModbusExchangeTable[Math.Max(count, 2 * s_sweeping.Length)];
                }

                s_armed.CopyTo(s_sweeping);
            }

            var now = TimeProvider.System.GetTimestamp();
            for (var i = 0; i < count; i++)
            {
                var table = s_sweeping[i];
                s_sweeping[i] = null!;
                if (!table.Sweep(now))
                {
                    lock (s_armedLock)
                    {
                        s_armed.Remove(table);
                        if (s_armed.Count == 0)
                        {
                            s_sweep.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                        }
                    }
                }
            }
        }
        finally
        {
            Volatile.Write(ref s_sweepRunning, 0);
        }
    }

    private Exception ClosedFailure(Exception failure, string what) =>
        failure is AuthenticationException
            ? new AuthenticationException(failure.Message, failure)
            : new IOException($"The connection to {_peer} {what}: {failure.Message}", failure);

    /// <summary>Fails the requests past their deadline; true while requests still wait (the table stays in the sweep).</summary>
    private bool Sweep(long now)
    {
        List<ModbusExchange>? expired = null;
        bool rearm;
        lock (_sync)
        {
            foreach (var exchange in _waiting.Values)
            {
                if (now >= exchange.Deadline)
                {
                    (expired ??= []).Add(exchange);
                }
            }

            foreach (var exchange in expired ?? [])
            {
                _waiting.Remove(exchange.TransactionId);
            }

            rearm = _sweepArmed = _waiting.Count > 0 && _failure is null;
        }

        foreach (var exchange in expired ?? [])
        {
            exchange.Fail(new TimeoutException($"No response from {_peer} to function 0x{exchange.Request.Span[0]:X2} for unit {exchange.Unit} (transaction {exchange.TransactionId}) within {exchange.Timeout}."));
        }

        _onSweep(now);
        return rearm;
    }
}
