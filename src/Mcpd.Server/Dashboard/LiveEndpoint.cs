using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json;
using Mcpd.Server.Admin;
using Mcpd.Server.Devices;
using Mcpd.Server.Mcp;
using Mcpd.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace Mcpd.Server.Dashboard;

/// <summary>
/// <c>GET /api/live</c>: the dashboard's one live stream (docs/api.md, "Live stream"), Server-Sent Events over the admin
/// API's protection and roles, so a script can read what the page reads. Each event's data is JSON: <c>hello</c> (who the
/// caller is and whether its role may write), <c>devices</c> and <c>upstreams</c> when they change, <c>traffic</c>
/// every second, and with <c>unit</c>: <c>history</c> once, <c>registers</c> when a value in the range changes (checked
/// every 250 ms, every second behind an upstream, where each check is a Modbus request), <c>requests</c> as the log
/// records them, and <c>problem</c> when the range cannot be read. Register data is what <c>GET
/// /api/devices/{unit}/registers</c> answers, checked the same way before the stream starts.
/// </summary>
internal static class LiveEndpoint
{
    public const string Path = "/api/live";

    private static readonly TimeSpan UpstreamPoll = TimeSpan.FromSeconds(1);

    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet(Path, Open).RequireAuthorization(AdminAccess.ReadPolicy);

    private static IResult Open(
        int? unit, string? table, int? from, int? count, HttpContext context,
        [FromServices] DeviceRegistry devices, [FromServices] AdminAccess access)
    {
        RegisterRange? range = null;
        if (unit is { } requested)
        {
            if (DeviceEndpoints.ReadProblem(requested, table, from, count, context, devices, access, out var checkedRange) is { } problem)
            {
                return problem;
            }

            range = checkedRange;
        }

        return TypedResults.ServerSentEvents(EventsAsync(unit, range, context, context.RequestAborted));
    }

    private static async IAsyncEnumerable<SseItem<string>> EventsAsync(int? unit, RegisterRange? range, HttpContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var services = context.RequestServices;
        var hub = services.GetRequiredService<DashboardHub>();
        var access = services.GetRequiredService<AdminAccess>();
        var devices = services.GetRequiredService<DeviceRegistry>();
        var devicesOptions = services.GetRequiredService<IOptions<DevicesOptions>>();
        var json = services.GetRequiredService<IOptions<HttpJsonOptions>>().Value.SerializerOptions;
        var time = services.GetRequiredService<TimeProvider>();
        var user = context.User;
        string Json(object value) => JsonSerializer.Serialize(value, json);

        using var watch = hub.Watch();
        yield return new SseItem<string>(Json(new
        {
            server = "mcpd",
            version = McpServerInfo.Version,
            caller = AdminCaller.IdentityOf(user).ToString(),
            write = access.Refusal(user, AccessKind.Write) is null,
            tickMilliseconds = DashboardHub.Tick.TotalMilliseconds,
            historySeconds = RegisterHistory.Samples,
        }), "hello");

        if (range is { } history)
        {
            yield return new SseItem<string>(Json(new
            {
                unit,
                table = DeviceRegisters.NameOf(history.Table),
                from = history.From,
                count = history.Count,
                intervalSeconds = 1,
                registers = hub.Registers.Of((byte)unit!.Value, history.Table, history.From, history.Count),
            }), "history");
        }

        string? lastDevices = null, lastUpstreams = null, lastRegisters = null;
        var lastTraffic = DateTimeOffset.MinValue;
        var lastRequest = 0L;
        long? lastPoll = null;
        var pollEvery = range?.Device is SimulatedDevice ? TimeSpan.Zero : UpstreamPoll;
        using var timer = new PeriodicTimer(DashboardHub.Tick, time);
        do
        {
            var deviceList = Json(DeviceEndpoints.List(devicesOptions.Value, devices));
            if (deviceList != lastDevices)
            {
                lastDevices = deviceList;
                yield return new SseItem<string>(deviceList, "devices");
            }

            var upstreams = Json(hub.Upstreams.Describe());
            if (upstreams != lastUpstreams)
            {
                lastUpstreams = upstreams;
                yield return new SseItem<string>(upstreams, "upstreams");
            }

            var traffic = hub.TrafficAfter(lastTraffic);
            if (traffic.Count > 0)
            {
                lastTraffic = traffic[^1].At;
                yield return new SseItem<string>(Json(traffic), "traffic");
            }

            var requests = hub.RequestsAfter(lastRequest);
            if (requests.Count > 0)
            {
                lastRequest = requests[^1].Sequence;
                var shown = requests.Where(r => (unit is null || r.Unit == unit) && MayRead(access, user, r)).ToList();
                if (shown.Count > 0)
                {
                    yield return new SseItem<string>(Json(shown), "requests");
                }
            }

            if (range is { } watched && (lastPoll is not { } polled || time.GetElapsedTime(polled) >= pollEvery))
            {
                lastPoll = time.GetTimestamp();
                var (readings, problem) = await DeviceEndpoints.ReadingsAsync(unit!.Value, watched.Device, watched.Table, watched.From, watched.Count, cancellationToken);
                var registers = problem is null ? Json(readings!) : Json(new { error = problem.Message });
                if (registers != lastRegisters)
                {
                    lastRegisters = registers;
                    yield return new SseItem<string>(registers, problem is null ? "registers" : "problem");
                }
            }
        }
        while (await WaitAsync(timer, cancellationToken));
    }

    /// <summary>The next tick; false when the client has gone (the stream then ends quietly).</summary>
    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A logged request is shown to a caller who may read what it names (its range, else the device at all).</summary>
    private static bool MayRead(AdminAccess access, ClaimsPrincipal user, LoggedRequest request) =>
        request.Table is { } table && DeviceRegisters.TryParseTable(table, out var registerTable) && request.Address is { } address
            ? access.Refusal(user, AccessKind.Read, (byte)request.Unit, registerTable, address, Math.Max(1, request.Count ?? 1)) is null
            : access.Refusal(user, AccessKind.Read) is null;
}
