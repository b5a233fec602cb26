using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;

namespace Mcpd.Server.Dashboard;

/// <summary>
/// The recent values of the register-map entries of simulated devices, for the dashboard's sparklines: one sample per
/// entry each time <see cref="Sample"/> runs (every second), the last <see cref="Samples"/> of each, for at most
/// <see cref="MaxSeries"/> entries in all (entries past it have no history). Bounded: 2,000 x 120 floats, under
/// 1 MiB. Devices behind an upstream are not sampled: that would send requests to a real device when nobody looks.
/// </summary>
internal sealed class RegisterHistory(DeviceRegistry devices)
{
    /// <summary>Samples kept per entry: two minutes at one a second.</summary>
    public const int Samples = 120;

    /// <summary>Entries sampled, over all devices, in the order of their maps.</summary>
    public const int MaxSeries = 2000;

    private readonly Dictionary<(byte Unit, RegisterTable Table, int Address), float[]> _series = [];
    private long _taken;

    /// <summary>Reads every sampled entry once (a string entry has no number and is skipped).</summary>
    public void Sample()
    {
        lock (_series)
        {
            var slot = (int)(_taken++ % Samples);
            var seen = new HashSet<(byte, RegisterTable, int)>();
            Span<ushort> words = stackalloc ushort[2];
            Span<bool> bit = stackalloc bool[1];
            foreach (var device in devices.Simulated)
            {
                foreach (var definition in device.Map.Definitions)
                {
                    if (seen.Count == MaxSeries)
                    {
                        break;
                    }

                    if (definition.Format.Type == RegisterDataType.String || definition.Address + definition.Count > device.Bank.SizeOf(definition.Table))
                    {
                        continue;
                    }

                    float value;
                    if (RegisterDefinition.IsBitTable(definition.Table))
                    {
                        device.Bank.ReadBits(definition.Table, definition.Address, bit);
                        value = bit[0] ? 1 : 0;
                    }
                    else
                    {
                        var registers = words[..definition.Count];
                        device.Bank.ReadRegisters(definition.Table, definition.Address, registers);
                        value = (float)(definition.Format.DecodeNumber(registers) * definition.Scale);
                    }

                    var key = (device.Unit, definition.Table, definition.Address);
                    seen.Add(key);
                    if (!_series.TryGetValue(key, out var samples))
                    {
                        samples = new float[Samples];
                        Array.Fill(samples, float.NaN);
                        _series[key] = samples;
                    }

                    samples[slot] = value;
                }
            }

            // An entry a reload removed takes no more memory.
            foreach (var gone in _series.Keys.Where(key => !seen.Contains(key)).ToList())
            {
                _series.Remove(gone);
            }
        }
    }

    /// <summary>The samples of the entries of <paramref name="unit"/> that start in the range, oldest first (null: not sampled then).</summary>
    public Dictionary<int, float?[]> Of(byte unit, RegisterTable table, int from, int count)
    {
        lock (_series)
        {
            var result = new Dictionary<int, float?[]>();
            var filled = (int)Math.Min(_taken, Samples);
            foreach (var ((seriesUnit, seriesTable, address), samples) in _series)
            {
                if (seriesUnit != unit || seriesTable != table || address < from || address >= from + count)
                {
                    continue;
                }

                var ordered = new float?[filled];
                for (var i = 0; i < filled; i++)
                {
                    var value = samples[(int)((_taken - filled + i) % Samples)];
                    ordered[i] = float.IsNaN(value) ? null : value;
                }

                result[address] = ordered;
            }

            return result;
        }
    }
}
