using Mcpd.Protocols.Modbus;
using Mcpd.Server.Configuration;
using Mcpd.Server.Devices;
using Mcpd.Server.Gateway;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Devices;

/// <summary>
/// Register generators driven by <see cref="RegisterGeneratorService"/> on a <see cref="FakeTimeProvider"/>: every kind
/// stays within min..max, respects its period and lands in the register's type, word order and scale.
/// </summary>
public sealed class RegisterGeneratorTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch);
    private RegisterGeneratorService? _service;

    [Fact]
    public async Task Sine_starts_mid_range_peaks_at_a_quarter_period_and_repeats()
    {
        var device = await StartAsync(Register(RegisterDataType.Int16, scale: 0.1, new() { Kind = GeneratorKind.Sine, Min = 15, Max = 25, Period = TimeSpan.FromSeconds(60) }));

        var values = Sample(device, seconds: 120);

        Assert.All(values, v => Assert.InRange(v, 15, 25));
        Assert.Equal(20, values[0], 6);
        Assert.Equal(25, values[15], 6);
        Assert.Equal(15, values[45], 6);
        Assert.Equal(values[..60], values[60..120]);
        Assert.True(values.Distinct().Count() > 20, "tenths of a degree: it really moves");
    }

    [Fact]
    public async Task Sawtooth_rises_over_the_period_and_drops_back()
    {
        var device = await StartAsync(Register(RegisterDataType.UInt16, scale: 1, new() { Kind = GeneratorKind.Sawtooth, Min = 0, Max = 100, Period = TimeSpan.FromSeconds(10) }));

        var values = Sample(device, seconds: 21);

        Assert.Equal([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 0, 10], values[..12]);
        Assert.Equal(0, values[20]);
        Assert.All(values, v => Assert.InRange(v, 0, 100));
    }

    [Fact]
    public async Task Counter_steps_once_per_period_from_its_value_and_wraps_past_max_to_min()
    {
        var register = Register(RegisterDataType.UInt16, scale: 1, new() { Kind = GeneratorKind.Counter, Min = 0, Max = 5, Step = 2, Period = TimeSpan.FromSeconds(2) });
        register.Value = "1";
        var device = await StartAsync(register);

        var values = Sample(device, seconds: 13);

        Assert.Equal([1, 1, 3, 3, 5, 5, 0, 0, 2, 2, 4, 4, 0], values);
    }

    [Fact]
    public async Task Counter_on_uint32_carries_into_the_high_word_in_the_configured_word_order()
    {
        var register = Register(RegisterDataType.UInt32, scale: 1, new() { Kind = GeneratorKind.Counter, Min = 65534, Max = 70000, Period = TimeSpan.FromSeconds(1) });
        register.WordOrder = WordOrder.LowWordFirst;
        var device = await StartAsync(register);
        var raw = new ushort[2];

        device.Bank.ReadRegisters(RegisterTable.Holding, 0, raw);
        Assert.Equal([0xFFFE, 0x0000], raw);
        _time.Advance(TimeSpan.FromSeconds(2));
        device.Bank.ReadRegisters(RegisterTable.Holding, 0, raw);
        Assert.Equal([0x0000, 0x0001], raw); // 65536, low word first
    }

    [Fact]
    public async Task Random_walk_moves_at_most_one_step_per_period_within_bounds_and_repeats_with_a_seed()
    {
        static GeneratorOptions Walk() => new() { Kind = GeneratorKind.RandomWalk, Min = -1, Max = 1, Step = 0.25, Period = TimeSpan.FromSeconds(1), Seed = 42 };
        var device = await StartAsync(Register(RegisterDataType.Float32, scale: 1, Walk()), Register(RegisterDataType.Float32, scale: 1, Walk(), address: 2));
        var twin = new List<double>();

        var values = Sample(device, seconds: 200, each: () => twin.Add(Read(device, address: 2)));

        Assert.Equal(0, values[0]); // mid-range without a value
        Assert.All(values, v => Assert.InRange(v, -1, 1));
        Assert.All(values.Zip(values.Skip(1)), pair => Assert.InRange(Math.Abs(pair.Second - pair.First), 0, 0.25 + 1e-6));
        Assert.True(values.Distinct().Count() > 100, "the walk moves");
        Assert.Equal(values, twin); // same seed, same walk
    }

    [Fact]
    public async Task Float32_keeps_fractions_in_high_word_first_order()
    {
        var device = await StartAsync(Register(RegisterDataType.Float32, scale: 1, new() { Kind = GeneratorKind.Sawtooth, Min = 0, Max = 1, Period = TimeSpan.FromSeconds(8) }));
        var raw = new ushort[2];

        _time.Advance(TimeSpan.FromSeconds(3));
        device.Bank.ReadRegisters(RegisterTable.Holding, 0, raw);

        Assert.Equal(0.375f, BitConverter.UInt32BitsToSingle((uint)(raw[0] << 16 | raw[1])));
    }

    [Fact]
    public async Task Toggle_flips_a_coil_from_its_value_and_a_register_between_min_and_max()
    {
        var coil = new RegisterOptions { Table = RegisterTable.Coils, Address = 3, Value = "on", Generator = new() { Kind = GeneratorKind.Toggle, Period = TimeSpan.FromSeconds(3) } };
        var device = await StartAsync(coil, Register(RegisterDataType.Int32, scale: 1, new() { Kind = GeneratorKind.Toggle, Min = -5, Max = 5, Period = TimeSpan.FromSeconds(3) }));
        var bits = new List<bool>();
        var bit = new bool[1];

        var registers = Sample(device, seconds: 7, each: () =>
        {
            device.Bank.ReadBits(RegisterTable.Coils, 3, bit);
            bits.Add(bit[0]);
        });

        Assert.Equal([true, true, true, false, false, false, true], bits);
        Assert.Equal([-5, -5, -5, 5, 5, 5, -5], registers);
    }

    [Fact]
    public async Task Constant_restores_its_value_on_the_next_tick_after_a_client_write()
    {
        var register = Register(RegisterDataType.UInt16, scale: 1, new() { Kind = GeneratorKind.Constant });
        register.Value = "42";
        var device = await StartAsync(register);

        Assert.Equal("0600000007", device.ExecuteHex("0600000007"));
        Assert.Equal("03020007", device.ExecuteHex("0300000001"));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("0302002A", device.ExecuteHex("0300000001"));
    }

    [Fact]
    public async Task Values_change_only_on_the_update_interval()
    {
        var device = await StartAsync(TimeSpan.FromSeconds(5), Register(RegisterDataType.UInt16, scale: 1, new() { Kind = GeneratorKind.Sawtooth, Min = 0, Max = 100, Period = TimeSpan.FromSeconds(100) }));

        _time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Equal("03020000", device.ExecuteHex("0300000001"));
        _time.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal("03020005", device.ExecuteHex("0300000001"));
    }

    [Fact]
    public async Task A_generator_moves_a_read_only_register_clients_cannot_write()
    {
        var register = Register(RegisterDataType.UInt16, scale: 1, new() { Kind = GeneratorKind.Counter, Min = 0, Max = 100, Period = TimeSpan.FromSeconds(1) });
        register.ReadOnly = true;
        var device = await StartAsync(register);

        Assert.Equal("8602", device.ExecuteHex("0600000063"));
        _time.Advance(TimeSpan.FromSeconds(3));

        Assert.Equal("03020003", device.ExecuteHex("0300000001"));
    }

    public async ValueTask DisposeAsync()
    {
        if (_service is not null)
        {
            await _service.DisposeAsync();
        }
    }

    private static RegisterOptions Register(RegisterDataType type, double scale, GeneratorOptions generator, int address = 0) =>
        new() { Table = RegisterTable.Holding, Address = address, Type = type, Scale = scale, Generator = generator };

    private Task<SimulatedDevice> StartAsync(params RegisterOptions[] registers) => StartAsync(TimeSpan.FromSeconds(1), registers);

    /// <summary>Validates the device as the host does, then starts the generator service on the fake clock.</summary>
    private async Task<SimulatedDevice> StartAsync(TimeSpan updateInterval, params RegisterOptions[] registers)
    {
        var options = new McpdOptions { Devices = { new DeviceOptions { Unit = 1, UpdateInterval = updateInterval, Registers = registers } } };
        Assert.Empty(McpdOptionsValidator.Check(options));
        var registry = new DeviceRegistry(Options.Create(new DevicesOptions { Devices = options.Devices }), new UpstreamRegistry(Options.Create(new UpstreamsOptions()), []), []);
        _service = new RegisterGeneratorService(registry, _time, NullLogger<RegisterGeneratorService>.Instance);
        await _service.StartAsync(TestContext.Current.CancellationToken);
        return registry.Simulated[0];
    }

    /// <summary>The value of holding entry 0 once a second from now on; <paramref name="each"/> runs at each sample.</summary>
    private List<double> Sample(SimulatedDevice device, int seconds, Action? each = null)
    {
        var values = new List<double>();
        for (var second = 0; second < seconds; second++)
        {
            values.Add(Read(device, address: 0));
            each?.Invoke();
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        return values;
    }

    /// <summary>The engineering value of the holding entry at <paramref name="address"/>, to 6 decimals.</summary>
    private static double Read(SimulatedDevice device, int address)
    {
        var definition = device.Map.Find(RegisterTable.Holding, address)!;
        var raw = new ushort[definition.Count];
        device.Bank.ReadRegisters(RegisterTable.Holding, address, raw);
        return Math.Round((double)definition.Decode(raw), 6);
    }
}
