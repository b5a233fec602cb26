using System.Text.Json.Serialization;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;
using Mcpd.Server.Gateway;

namespace Mcpd.Server.Admin;

/// <summary>
/// Reading and writing a device's registers for a person or a program that is not a Modbus client: the admin API
/// (<see cref="DeviceEndpoints"/>) and the agent endpoint share it. Simulated devices are read and written in their
/// tables directly (an operator may set input registers and discrete inputs, which no Modbus client can); any other
/// device (a gateway, a device reached by a Modbus client) with Modbus requests.
/// </summary>
internal static class DeviceRegisters
{
    /// <summary>The table's name as the API and the agent write it: coils, discrete, holding or input.</summary>
    public static string NameOf(RegisterTable table) => table switch
    {
        RegisterTable.Coils => "coils",
        RegisterTable.Discrete => "discrete",
        RegisterTable.Holding => "holding",
        _ => "input",
    };

    /// <summary>Parses a table name (any case); numbers are refused, though <see cref="Enum.TryParse{TEnum}(string, bool, out TEnum)"/> takes them.</summary>
    public static bool TryParseTable(string table, out RegisterTable registerTable) =>
        Enum.TryParse(table, ignoreCase: true, out registerTable) && Enum.IsDefined(registerTable) && table.Length > 0 && !char.IsAsciiDigit(table[0]);

    /// <summary>The most a read of <paramref name="table"/> may ask for (bits or registers).</summary>
    public static int ReadLimit(RegisterTable table) => RegisterDefinition.IsBitTable(table) ? ModbusLimits.MaxReadBits : ModbusLimits.MaxReadRegisters;

    /// <summary>The raw values (a bit as 0 or 1) of <paramref name="count"/> addresses from <paramref name="start"/>, or what went wrong.</summary>
    public static async Task<(ushort[]? Values, RegisterProblem? Problem)> ReadAsync(IModbusDevice device, RegisterTable table, int start, int count, ModbusCaller caller, CancellationToken cancellationToken)
    {
        if (device is SimulatedDevice simulated)
        {
            if (start + count > simulated.Bank.SizeOf(table))
            {
                return (null, RegisterProblem.BadRequest($"the {NameOf(table)} table has {simulated.Bank.SizeOf(table)} addresses"));
            }

            var values = new ushort[count];
            if (RegisterDefinition.IsBitTable(table))
            {
                var bits = new bool[count];
                simulated.Bank.ReadBits(table, start, bits);
                values = Array.ConvertAll(bits, b => b ? (ushort)1 : (ushort)0);
            }
            else
            {
                simulated.Bank.ReadRegisters(table, start, values);
            }

            return (values, null);
        }

        var function = table switch
        {
            RegisterTable.Coils => ModbusFunctionCode.ReadCoils,
            RegisterTable.Discrete => ModbusFunctionCode.ReadDiscreteInputs,
            RegisterTable.Holding => ModbusFunctionCode.ReadHoldingRegisters,
            _ => ModbusFunctionCode.ReadInputRegisters,
        };
        var request = new byte[ModbusLimits.MaxPduLength];
        var requestLength = ModbusRequestPdu.Read(request, function, (ushort)start, count);
        var result = new ushort[count];
        var failure = await ExecuteAsync(device, request.AsMemory(0, requestLength), caller, (response, _) =>
        {
            if (RegisterDefinition.IsBitTable(table))
            {
                var bits = new bool[count];
                ModbusResponsePdu.ReadBits(response, function, bits);
                for (var i = 0; i < count; i++)
                {
                    result[i] = bits[i] ? (ushort)1 : (ushort)0;
                }
            }
            else
            {
                ModbusResponsePdu.ReadRegisters(response, function, result);
            }
        }, cancellationToken);
        return failure is null ? (result, null) : (null, failure);
    }

    /// <summary>
    /// Writes <paramref name="words"/> (bits as 0 or 1) from <paramref name="address"/>: into a simulated device's
    /// table; else FC05 for one coil, FC06 for one holding register, FC10 for several (the other tables are read-only
    /// over Modbus). Null when written, else what went wrong. The caller has checked the caller's rights.
    /// </summary>
    public static async Task<RegisterProblem?> WriteAsync(IModbusDevice device, RegisterTable table, int address, ushort[] words, ModbusCaller caller, CancellationToken cancellationToken)
    {
        if (device is SimulatedDevice simulated)
        {
            if (address + words.Length > simulated.Bank.SizeOf(table))
            {
                return RegisterProblem.BadRequest($"the {NameOf(table)} table has {simulated.Bank.SizeOf(table)} addresses");
            }

            if (RegisterDefinition.IsBitTable(table))
            {
                simulated.Bank.WriteBits(table, address, Array.ConvertAll(words, w => w != 0));
            }
            else
            {
                simulated.Bank.WriteRegisters(table, address, words);
            }

            return null;
        }

        var request = new byte[ModbusLimits.MaxPduLength];
        var length = table switch
        {
            RegisterTable.Coils when words.Length == 1 => ModbusRequestPdu.WriteSingleCoil(request, (ushort)address, words[0] != 0),
            RegisterTable.Holding when words.Length == 1 => ModbusRequestPdu.WriteSingleRegister(request, (ushort)address, words[0]),
            RegisterTable.Holding => ModbusRequestPdu.WriteMultipleRegisters(request, (ushort)address, words),
            _ => 0,
        };
        if (length == 0)
        {
            return RegisterProblem.BadRequest($"a real device's {NameOf(table)} table cannot be written over Modbus");
        }

        return await ExecuteAsync(device, request.AsMemory(0, length), caller, static (response, sent) => ModbusResponsePdu.ExpectEcho(response, sent), cancellationToken);
    }

    /// <summary>
    /// One address of <paramref name="values"/> (read from <paramref name="start"/>): the raw value; <c>readOnly</c>
    /// when the device refuses client writes there (coils and holding registers; the other tables are read-only by
    /// the protocol); and for the first address of a map entry its name, type and engineering value.
    /// </summary>
    public static RegisterReading Reading(RegisterMap map, Func<RegisterTable, int, bool>? isReadOnly, RegisterTable table, int start, ushort[] values, int index)
    {
        var address = start + index;
        var readOnly = isReadOnly is not null && table is RegisterTable.Coils or RegisterTable.Holding && isReadOnly(table, address) ? true : (bool?)null;
        if (map.Find(table, address) is not { } definition)
        {
            return new RegisterReading(address, values[index], readOnly);
        }

        object? value = RegisterDefinition.IsBitTable(definition.Table) ? values[index] != 0
            : index + definition.Count <= values.Length ? definition.Decode(values.AsSpan(index, definition.Count))
            : null;
        return new RegisterReading(address, values[index], readOnly)
        {
            Name = definition.Name,
            Description = definition.Description,
            Type = TypeOf(definition),
            Unit = definition.Unit,
            Value = value,
        };
    }

    /// <summary>The entry's type as the API writes it: bit, or uint16, int16, uint32, int32, float32, string.</summary>
    public static string TypeOf(RegisterDefinition definition) =>
        RegisterDefinition.IsBitTable(definition.Table) ? "bit" : definition.Format.Type.ToString().ToLowerInvariant();

    /// <summary>
    /// Runs one request PDU and hands the answer to <paramref name="read"/> (the codec's response readers); an exception
    /// PDU, no answer, or an answer that does not fit the request is a device failure saying which, and who answered:
    /// the device, or mcpd in its place (<see cref="ModbusAnswerOrigin"/>).
    /// </summary>
    private static async Task<RegisterProblem?> ExecuteAsync(IModbusDevice device, ReadOnlyMemory<byte> request, ModbusCaller caller, ResponseReader read, CancellationToken cancellationToken)
    {
        var response = new byte[ModbusLimits.MaxPduLength];
        var origin = new ModbusAnswerOrigin();
        int length;
        try
        {
            length = await device.ExecuteAsync(request, response, caller with { AnswerOrigin = origin }, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or TimeoutException)
        {
            // A device reached by a Modbus client (the agent's --device) fails by throwing; a gateway answers 0B instead.
            return RegisterProblem.DeviceFailed($"the device did not answer: {ex.Message}");
        }

        if (ModbusResponsePdu.IsException(response.AsSpan(0, length), out var exception))
        {
            return RegisterProblem.DeviceFailed(origin.ByGateway
                ? AnsweredInDevicesPlace(device, exception)
                : $"the device answered Modbus exception {(byte)exception:X2} ({exception})");
        }

        if (length == 0)
        {
            return RegisterProblem.DeviceFailed("the device did not answer");
        }

        try
        {
            read(response.AsSpan(0, length), request.Span);
            return null;
        }
        catch (FormatException ex)
        {
            return RegisterProblem.DeviceFailed($"the device's answer does not fit the request: {ex.Message}");
        }
    }

    private delegate void ResponseReader(ReadOnlySpan<byte> response, ReadOnlySpan<byte> request);

    /// <summary>An exception mcpd answered in the device's place (docs/gateway.md): through which upstream, in which state, and why.</summary>
    private static string AnsweredInDevicesPlace(IModbusDevice device, ModbusExceptionCode code)
    {
        var through = device is GatewayDevice gateway ? $", through upstream '{gateway.Upstream.Name}' ({gateway.Upstream.State})" : "";
        var why = code switch
        {
            ModbusExceptionCode.GatewayPathUnavailable => "mcpd has no path to the device (the upstream is down or full); nothing was sent",
            ModbusExceptionCode.GatewayTargetDeviceFailedToRespond => "no usable answer came from the device (none in time, only garbled ones, a broken link), or the upstream holds it for dead for now (RTU quarantine, open circuit)",
            ModbusExceptionCode.ServerDeviceBusy => "too many requests wait for the upstream; nothing was sent",
            _ => "the request was not sent",
        };
        return $"mcpd answered Modbus exception {(byte)code:X2} ({code}) in the device's place{through}: {why}";
    }
}

/// <summary>What went wrong with a register read or write: the request (<see cref="IsDeviceFailure"/> false) or the device.</summary>
internal sealed record RegisterProblem(bool IsDeviceFailure, string Message)
{
    public static RegisterProblem BadRequest(string message) => new(false, message);

    public static RegisterProblem DeviceFailed(string message) => new(true, message);
}

/// <summary>One address as read (docs/api.md, "Registers"): its raw value, and what the register map says of it.</summary>
internal sealed record RegisterReading(
    int Address,
    ushort Raw,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? ReadOnly)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Description { get; init; }

    /// <summary>bit, uint16, int16, uint32, int32, float32 or string.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Type { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Unit { get; init; }

    /// <summary>The engineering value: raw x scale, a string, or a bit as true/false; absent when the entry runs past the addresses read.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public object? Value { get; init; }
}
