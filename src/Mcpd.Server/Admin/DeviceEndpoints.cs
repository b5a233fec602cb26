using System.Globalization;
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

    private static readonly RegisterMap NoMap = new([]);

    /// <summary>The largest PUT body read: a value or 123 raw words fit many times over.</summary>
    private const int MaxWriteBodyLength = 4096;

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/api/devices", ([FromServices] IOptions<DevicesOptions> options, [FromServices] DeviceRegistry devices) =>
            Results.Json(List(options.Value, devices))).RequireAuthorization(AdminAccess.ReadPolicy);
        endpoints.MapGet("/api/devices/{unit:int}/registers", ReadAsync).RequireAuthorization(AdminAccess.ReadPolicy);
        endpoints.MapPut("/api/devices/{unit:int}/registers/{address:int}", WriteAsync).RequireAuthorization(AdminAccess.WritePolicy);
    }

    /// <summary>The devices as <c>GET /api/devices</c> answers them (the dashboard's live stream sends the same).</summary>
    public static IEnumerable<object> List(DevicesOptions options, DeviceRegistry devices) =>
        options.Effective.Select(d => Describe(d, devices.Resolve((byte)d.Unit)));

    private static object Describe(DeviceOptions options, IModbusDevice? device) => device switch
    {
        SimulatedDevice simulated => new
        {
            unit = options.Unit,
            name = simulated.Name,
            kind = "simulated",
            tables = new { coils = options.Coils, discreteInputs = options.DiscreteInputs, holdingRegisters = options.HoldingRegisters, inputRegisters = options.InputRegisters },
            registers = simulated.Map.Definitions.Count,
            mapped = Mapped(simulated.Map),
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
    private static async Task<IResult> ReadAsync(int unit, string? table, int? from, int? count, HttpContext context, [FromServices] DeviceRegistry devices, [FromServices] AdminAccess access, CancellationToken cancellationToken) =>
        ReadProblem(unit, table, from, count, context, devices, access, out var range) ?? await ReadRangeAsync(unit, range.Device, range.Table, range.From, range.Count, cancellationToken);

    /// <summary>
    /// The answer to a read of <paramref name="count"/> addresses of <paramref name="table"/> from <paramref name="from"/>
    /// (defaults: holding, 0, 10) that cannot be made: no such unit or table, a range outside the table or the read
    /// limit, or one the caller's role may not read (403). Null when it can; then <paramref name="range"/> is what to read.
    /// </summary>
    public static IResult? ReadProblem(int unit, string? table, int? from, int? count, HttpContext context, DeviceRegistry devices, AdminAccess access, out RegisterRange range)
    {
        range = default;
        if (Problem(unit, table, devices, out var device, out var registerTable) is { } problem)
        {
            return problem;
        }

        var start = from ?? 0;
        var length = count ?? 10;
        var limit = DeviceRegisters.ReadLimit(registerTable);
        if (start is < 0 or > ushort.MaxValue || length < 1 || length > limit || start + length > ushort.MaxValue + 1)
        {
            return Error(StatusCodes.Status400BadRequest, $"from must be 0..65535 and count 1..{limit} inside the table");
        }

        if (access.Refusal(context.User, AccessKind.Read, (byte)unit, registerTable, start, length) is { } refusal)
        {
            return access.Forbidden(context, refusal);
        }

        range = new RegisterRange(device!, registerTable, start, length);
        return null;
    }

    private static async Task<IResult> ReadRangeAsync(int unit, IModbusDevice device, RegisterTable registerTable, int start, int length, CancellationToken cancellationToken)
    {
        var (readings, problem) = await ReadingsAsync(unit, device, registerTable, start, length, cancellationToken);
        return problem is null ? Results.Json(readings) : Error(problem);
    }

    /// <summary>The body of <c>GET /api/devices/{unit}/registers</c> for the range (the dashboard's live stream sends the same), or what went wrong.</summary>
    public static async Task<(object? Readings, RegisterProblem? Problem)> ReadingsAsync(int unit, IModbusDevice device, RegisterTable registerTable, int start, int length, CancellationToken cancellationToken)
    {
        var (values, problem) = await DeviceRegisters.ReadAsync(device, registerTable, start, length, Admin, cancellationToken);
        if (problem is not null)
        {
            return (null, problem);
        }

        var simulated = device as SimulatedDevice;
        var map = simulated?.Map ?? NoMap;
        return (new
        {
            unit,
            table = DeviceRegisters.NameOf(registerTable),
            from = start,
            count = length,
            registers = Enumerable.Range(0, length).Select(i => DeviceRegisters.Reading(map, simulated is null ? null : simulated.IsReadOnly, registerTable, start, values!, i)).ToList(),
        }, null);
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

        if (await DeviceRegisters.WriteAsync(device!, registerTable, address, words, Admin, cancellationToken) is { } failure)
        {
            return Error(failure);
        }

        access.Written(request.HttpContext.User, (byte)unit, registerTable, address, words.Length);
        return await ReadRangeAsync(unit, device!, registerTable, address, words.Length, cancellationToken);
    }

    private static IResult? Problem(int unit, string? table, DeviceRegistry devices, out IModbusDevice? device, out RegisterTable registerTable)
    {
        registerTable = RegisterTable.Holding;
        device = unit is >= 0 and <= 255 ? devices.Resolve((byte)unit) : null;
        if (device is null)
        {
            return Error(StatusCodes.Status404NotFound, $"no device with unit {unit.ToString(CultureInfo.InvariantCulture)}");
        }

        if (table is not null && !DeviceRegisters.TryParseTable(table, out registerTable))
        {
            return Error(StatusCodes.Status400BadRequest, $"table '{table}' is not coils, discrete, holding or input");
        }

        return null;
    }

    /// <summary>Per table that has map entries, the first and last address they cover: where a reader of the map starts.</summary>
    private static Dictionary<string, int[]> Mapped(RegisterMap map) =>
        map.Definitions.GroupBy(d => d.Table).OrderBy(g => g.Key).ToDictionary(
            g => DeviceRegisters.NameOf(g.Key),
            g => new[] { g.Min(d => d.Address), g.Max(d => d.Address + d.Count - 1) });

    private static IResult Error(int status, string message) => AdminErrors.Json(status, message);

    /// <summary>A failed read or write: 400 for the request's fault, 502 for the device's.</summary>
    public static IResult Error(RegisterProblem problem) =>
        Error(problem.IsDeviceFailure ? StatusCodes.Status502BadGateway : StatusCodes.Status400BadRequest, problem.Message);
}

/// <summary>A checked register range of one device: what <see cref="DeviceEndpoints.ReadProblem"/> found readable.</summary>
internal readonly record struct RegisterRange(IModbusDevice Device, RegisterTable Table, int From, int Count);
