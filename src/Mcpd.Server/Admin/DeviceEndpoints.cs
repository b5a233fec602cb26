using System.Globalization;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;
using Mcpd.Server.Gateway;
using Mcpd.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Admin;

/// <summary>
/// <c>/api/devices</c>: the devices, and their registers with names and typed values. Simulated devices are read and
/// written in their tables directly (an operator may set input registers and discrete inputs, which no Modbus client
/// can); devices behind an upstream are read and written with Modbus requests through the gateway.
/// </summary>
internal static class DeviceEndpoints
{
    private static readonly ModbusCaller Admin = new("admin-api");

    /// <summary>The largest PUT body read: a value or 123 raw words fit many times over.</summary>
    private const int MaxWriteBodyLength = 4096;

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/devices", ([FromServices] IOptions<DevicesOptions> options, [FromServices] DeviceRegistry devices) =>
            Results.Json(options.Value.Effective.Select(d => Describe(d, devices.Resolve((byte)d.Unit))))).RequireAuthorization(AdminAccess.ReadPolicy);
        endpoints.MapGet("/api/devices/{unit:int}/registers", ReadAsync).RequireAuthorization(AdminAccess.ReadPolicy);
        endpoints.MapPut("/api/devices/{unit:int}/registers/{address:int}", WriteAsync).RequireAuthorization(AdminAccess.WritePolicy);
    }

    private static object Describe(DeviceOptions options, IModbusDevice? device) => device switch
    {
        SimulatedDevice simulated => new
        {
            unit = options.Unit,
            name = simulated.Name,
            kind = "simulated",
            tables = new { coils = options.Coils, discreteInputs = options.DiscreteInputs, holdingRegisters = options.HoldingRegisters, inputRegisters = options.InputRegisters },
            registers = simulated.Map.Definitions.Count,
            generated = simulated.GeneratedCount,
        },
        GatewayDevice gateway => (object)new
        {
            unit = options.Unit,
            name = gateway.Name,
            kind = "gateway",
            upstream = gateway.Upstream.Name,
            upstreamUnit = gateway.UpstreamUnit,
            state = gateway.Upstream.State.ToString(),
        },
        _ => new { unit = options.Unit, name = options.Name, kind = "code" },
    };

    /// <summary>GET: the caller's role must allow reading the range, as a Modbus read of it would need.</summary>
    private static async Task<IResult> ReadAsync(int unit, string? table, int? from, int? count, HttpContext context, [FromServices] DeviceRegistry devices, [FromServices] AdminAccess access, CancellationToken cancellationToken)
    {
        if (Problem(unit, table, devices, out var device, out var registerTable) is { } problem)
        {
            return problem;
        }

        var start = from ?? 0;
        var length = count ?? 10;
        var limit = RegisterDefinition.IsBitTable(registerTable) ? ModbusLimits.MaxReadBits : ModbusLimits.MaxReadRegisters;
        if (start is < 0 or > ushort.MaxValue || length < 1 || length > limit || start + length > ushort.MaxValue + 1)
        {
            return Error(StatusCodes.Status400BadRequest, $"from must be 0..65535 and count 1..{limit} inside the table");
        }

        if (access.Refusal(context.User, AccessKind.Read, (byte)unit, registerTable, start, length) is { } refusal)
        {
            return access.Forbidden(context, refusal);
        }

        return await ReadRangeAsync(unit, device!, registerTable, start, length, cancellationToken);
    }

    private static async Task<IResult> ReadRangeAsync(int unit, IModbusDevice device, RegisterTable registerTable, int start, int length, CancellationToken cancellationToken)
    {
        var (values, failure) = await ReadValuesAsync(device, registerTable, start, length, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }

        var simulated = device as SimulatedDevice;
        return Results.Json(new
        {
            unit,
            table = registerTable.ToString().ToLowerInvariant(),
            from = start,
            count = length,
            registers = Enumerable.Range(0, length).Select(i => Row(simulated, registerTable, start + i, values!, i)),
        });
    }

    /// <summary>
    /// One address: the raw value; <c>readOnly</c> when a simulated device refuses writes there (coils and holding
    /// registers; the other tables are read-only by the protocol); and for the first address of a map entry its name,
    /// type and engineering value.
    /// </summary>
    private static Dictionary<string, object?> Row(SimulatedDevice? device, RegisterTable table, int address, ushort[] values, int index)
    {
        var row = new Dictionary<string, object?> { ["address"] = address, ["raw"] = values[index] };
        if (device is not null && table is RegisterTable.Coils or RegisterTable.Holding && device.IsReadOnly(table, address))
        {
            row["readOnly"] = true;
        }

        if (device?.Map.Find(table, address) is not { } definition)
        {
            return row;
        }

        row["name"] = definition.Name;
        row["description"] = definition.Description;
        row["type"] = RegisterDefinition.IsBitTable(definition.Table) ? "bit" : definition.Format.Type.ToString().ToLowerInvariant();
        row["unit"] = definition.Unit;
        if (RegisterDefinition.IsBitTable(definition.Table))
        {
            row["value"] = values[index] != 0;
        }
        else if (index + definition.Count <= values.Length)
        {
            row["value"] = definition.Decode(values.AsSpan(index, definition.Count));
        }

        return row;
    }

    /// <summary>
    /// PUT a value: body <c>{"value": 21.5}</c> (engineering units, by the map's type when an entry starts at the
    /// address; else a raw 0..65535 or a bit) or <c>{"raw": [1, 2]}</c>. The caller's role must allow writing every
    /// address the body writes, as a Modbus write of them would need. Answers with the addresses read back.
    /// </summary>
    private static async Task<IResult> WriteAsync(int unit, int address, string? table, HttpRequest request, [FromServices] DeviceRegistry devices, [FromServices] AdminAccess access, CancellationToken cancellationToken)
    {
        if (Problem(unit, table, devices, out var device, out var registerTable) is { } problem)
        {
            return problem;
        }

        if (address is < 0 or > ushort.MaxValue)
        {
            return Error(StatusCodes.Status400BadRequest, "the address is outside 0..65535");
        }

        // A register write is small: a body is read only up to the limit, so a huge one costs nothing to refuse.
        var buffer = new byte[MaxWriteBodyLength + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        if (length > MaxWriteBodyLength)
        {
            return Error(StatusCodes.Status413PayloadTooLarge, $"the body is over {MaxWriteBodyLength} bytes; a register write is {{\"value\": ...}} or {{\"raw\": [...]}}");
        }

        var definition = (device as SimulatedDevice)?.Map.Find(registerTable, address);
        if (!RegisterWriteBody.TryParse(buffer.AsMemory(0, length), registerTable, definition, out var words, out var bodyProblem))
        {
            return Error(StatusCodes.Status400BadRequest, bodyProblem);
        }

        if (address + words.Length > ushort.MaxValue + 1)
        {
            return Error(StatusCodes.Status400BadRequest, $"{words.Length} values from address {address} run past 65535");
        }

        if (access.Refusal(request.HttpContext.User, AccessKind.Write, (byte)unit, registerTable, address, words.Length) is { } refusal)
        {
            return access.Forbidden(request.HttpContext, refusal);
        }

        var failure = device is SimulatedDevice simulated
            ? WriteSimulated(simulated, registerTable, address, words)
            : await WriteThroughGatewayAsync(device!, registerTable, address, words, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }

        access.Written(request.HttpContext.User, (byte)unit, registerTable, address, words.Length);
        return await ReadRangeAsync(unit, device!, registerTable, address, words.Length, cancellationToken);
    }

    private static IResult? WriteSimulated(SimulatedDevice device, RegisterTable table, int address, ushort[] words)
    {
        if (address + words.Length > device.Bank.SizeOf(table))
        {
            return Error(StatusCodes.Status400BadRequest, $"the {table.ToString().ToLowerInvariant()} table has {device.Bank.SizeOf(table)} addresses");
        }

        if (RegisterDefinition.IsBitTable(table))
        {
            device.Bank.WriteBits(table, address, Array.ConvertAll(words, w => w != 0));
        }
        else
        {
            device.Bank.WriteRegisters(table, address, words);
        }

        return null;
    }

    /// <summary>FC05 for one coil, FC06 for one holding register, FC10 for several; the other tables are read-only over Modbus.</summary>
    private static async Task<IResult?> WriteThroughGatewayAsync(IModbusDevice device, RegisterTable table, int address, ushort[] words, CancellationToken cancellationToken)
    {
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
            return Error(StatusCodes.Status400BadRequest, $"a real device's {table.ToString().ToLowerInvariant()} table cannot be written over Modbus");
        }

        return await ExecuteAsync(device, request.AsMemory(0, length), static (response, sent) => ModbusResponsePdu.ExpectEcho(response, sent), cancellationToken);
    }

    private static async Task<(ushort[]? Values, IResult? Failure)> ReadValuesAsync(IModbusDevice device, RegisterTable table, int start, int count, CancellationToken cancellationToken)
    {
        if (device is SimulatedDevice simulated)
        {
            if (start + count > simulated.Bank.SizeOf(table))
            {
                return (null, Error(StatusCodes.Status400BadRequest, $"the {table.ToString().ToLowerInvariant()} table has {simulated.Bank.SizeOf(table)} addresses"));
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
        var failure = await ExecuteAsync(device, request.AsMemory(0, requestLength), (response, _) =>
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
    /// Runs one request PDU and hands the answer to <paramref name="read"/> (the codec's response readers); an exception
    /// PDU, no answer, or an answer that does not fit the request is a 502 saying which.
    /// </summary>
    private static async Task<IResult?> ExecuteAsync(IModbusDevice device, ReadOnlyMemory<byte> request, ResponseReader read, CancellationToken cancellationToken)
    {
        var response = new byte[ModbusLimits.MaxPduLength];
        var length = await device.ExecuteAsync(request, response, Admin, cancellationToken);
        if (ModbusResponsePdu.IsException(response.AsSpan(0, length), out var exception))
        {
            return Error(StatusCodes.Status502BadGateway, $"the device answered Modbus exception {(byte)exception:X2} ({exception})");
        }

        if (length == 0)
        {
            return Error(StatusCodes.Status502BadGateway, "the device did not answer");
        }

        try
        {
            read(response.AsSpan(0, length), request.Span);
            return null;
        }
        catch (FormatException ex)
        {
            return Error(StatusCodes.Status502BadGateway, $"the device's answer does not fit the request: {ex.Message}");
        }
    }

    private delegate void ResponseReader(ReadOnlySpan<byte> response, ReadOnlySpan<byte> request);

    private static IResult? Problem(int unit, string? table, DeviceRegistry devices, out IModbusDevice? device, out RegisterTable registerTable)
    {
        registerTable = RegisterTable.Holding;
        device = unit is >= 0 and <= 255 ? devices.Resolve((byte)unit) : null;
        if (device is null)
        {
            return Error(StatusCodes.Status404NotFound, $"no device with unit {unit.ToString(CultureInfo.InvariantCulture)}");
        }

        if (table is not null && (!Enum.TryParse(table, ignoreCase: true, out registerTable) || !Enum.IsDefined(registerTable) || char.IsAsciiDigit(table[0])))
        {
            return Error(StatusCodes.Status400BadRequest, $"table '{table}' is not coils, discrete, holding or input");
        }

        return null;
    }

    private static IResult Error(int status, string message) => AdminErrors.Json(status, message);
}
