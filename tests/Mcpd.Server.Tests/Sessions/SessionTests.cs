using System.Text;
using System.Text.Json;
using Mcpd.Client.Mcp;
using Mcpd.Protocols.Mcp;
using Mcpd.Server.Hosting;
using Mcpd.Server.Sessions;
using Mcpd.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Mcpd.Server.Tests.Sessions;

/// <summary>Sessions on one node with the in-memory store (docs/sessions.md), over real connections.</summary>
public class SessionTests
{
    [Fact]
    public async Task A_session_survives_a_reconnect_with_its_context_then_ends_on_close()
    {
        await using var server = await McpdTestServer.StartAsync();
        string sessionId;
        await using (var first = await ConnectAsync(server))
        {
            var opened = await first.CallAsync("session.open", """{"clientId":"plc-7","ttl":120}"""u8.ToArray());
            Assert.Equal(McpStatus.Ok, opened.Status);
            using var body = JsonDocument.Parse(opened.Body);
            sessionId = body.RootElement.GetProperty("sessionId").GetString()!;
            Assert.Equal(120, body.RootElement.GetProperty("ttl").GetDouble());
            Assert.Equal(22, sessionId.Length);
            Assert.Equal(McpStatus.Ok, (await first.CallAsync("session.set", "hall-3"u8.ToArray(), [new("session", sessionId), new("key", "site")])).Status);
            Assert.Equal(McpStatus.Ok, (await first.CallAsync("session.set", """{"shift":"night","line":"4"}"""u8.ToArray(), [new("session", sessionId)])).Status);
        }

        await using var second = await ConnectAsync(server);
        var resumed = await second.CallAsync("session.resume", headers: [new("session", sessionId)]);
        var site = await second.CallAsync("session.get", headers: [new("session", sessionId), new("key", "site")]);
        var all = await second.CallAsync("session.get", headers: [new("session", sessionId)]);
        var missing = await second.CallAsync("session.get", headers: [new("session", sessionId), new("key", "nope")]);
        var closed = await second.CallAsync("session.close", headers: [new("session", sessionId)]);
        var afterClose = await second.CallAsync("session.get", headers: [new("session", sessionId), new("key", "site")]);

        Assert.Equal(McpStatus.Ok, resumed.Status);
        Assert.Equal("hall-3", site.BodyText);
        Assert.Equal(new Dictionary<string, string> { ["site"] = "hall-3", ["shift"] = "night", ["line"] = "4" }, JsonSerializer.Deserialize<Dictionary<string, string>>(all.Body));
        Assert.Equal(McpStatus.NotFound, missing.Status);
        Assert.Equal(McpStatus.Ok, closed.Status);
        Assert.Equal(McpStatus.SessionExpired, afterClose.Status);
    }

    [Fact]
    public async Task Any_request_naming_an_unknown_session_gets_session_expired()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await ConnectAsync(server);

        var echo = await client.CallAsync("sys.echo", "x"u8.ToArray(), [new("session", "AAAAAAAAAAAAAAAAAAAAAA")]);
        var resume = await client.CallAsync("session.resume", headers: [new("session", "nope")]);
        var oneWay = await client.SendOneWayAsync("sys.echo", headers: [new("session", "nope")]);

        Assert.Equal(McpStatus.SessionExpired, echo.Status);
        using var body = JsonDocument.Parse(echo.Body);
        Assert.Equal("SESSION_EXPIRED", body.RootElement.GetProperty("status").GetString());
        Assert.Equal(McpStatus.SessionExpired, resume.Status);
        Assert.Equal(McpStatus.SessionExpired, oneWay);
    }

    [Fact]
    public async Task A_wrong_token_is_unauthorized_and_the_log_line_leaves_the_token_out()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["sessions:tokens:plc-7"] = "s3cret-token" });
        await using var client = await ConnectAsync(server);

        var wrong = await client.CallAsync("session.open", """{"clientId":"plc-7","token":"guess-token"}"""u8.ToArray());
        var none = await client.CallAsync("session.open", """{"clientId":"plc-7"}"""u8.ToArray());
        var right = await client.CallAsync("session.open", """{"clientId":"plc-7","token":"s3cret-token"}"""u8.ToArray());
        var malformed = await client.CallAsync("session.open", "not json"u8.ToArray());

        Assert.Equal(McpStatus.Unauthorized, wrong.Status);
        Assert.Equal(McpStatus.Unauthorized, none.Status);
        Assert.Equal(McpStatus.Ok, right.Status);
        Assert.Equal(McpStatus.BadRequest, malformed.Status);
        var line = await server.Logs.WaitForAsync("refused: wrong or missing token");
        Assert.DoesNotContain("guess-token", string.Join('\n', server.Logs.Lines.Select(l => l.Message)), StringComparison.Ordinal);
        Assert.Contains("plc-7", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_opened_with_a_token_is_resumed_and_used_only_with_the_same_client_id_and_token()
    {
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["sessions:tokens:plc-7"] = "s3cret-token",
            ["sessions:tokens:plc-8"] = "other-token",
        });
        string sessionId;
        await using (var owner = await ConnectAsync(server))
        {
            sessionId = await OpenAsync(owner, "plc-7", "s3cret-token");
            Assert.Equal(McpStatus.Ok, (await owner.CallAsync("session.set", "hall-3"u8.ToArray(), [new("session", sessionId), new("key", "site")])).Status);
        }

        // A second client that learnt the id (the admin API listed ids) and knows another client's token.
        await using var thief = await ConnectAsync(server);
        var session = new KeyValuePair<string, string>("session", sessionId);
        McpResponse[] refused =
        [
            await thief.CallAsync("session.resume", headers: [session]),
            await thief.CallAsync("session.resume", """{"clientId":"plc-7","token":"guess-token"}"""u8.ToArray(), [session]),
            await thief.CallAsync("session.resume", """{"clientId":"plc-8","token":"other-token"}"""u8.ToArray(), [session]),
            await thief.CallAsync("session.get", headers: [session, new("key", "site")]),
            await thief.CallAsync("session.get", headers: [session]),
            await thief.CallAsync("session.set", "stolen"u8.ToArray(), [session, new("key", "site")]),
            await thief.CallAsync("session.close", headers: [session]),
            await thief.CallAsync("sys.echo", "x"u8.ToArray(), [session]),
        ];
        var unknown = await thief.CallAsync("session.resume", """{"clientId":"plc-7","token":"s3cret-token"}"""u8.ToArray(), [new("session", SessionIds.New())]);
        var malformed = await thief.CallAsync("session.resume", """["plc-7","s3cret-token"]"""u8.ToArray(), [session]);
        await using var owner2 = await ConnectAsync(server);
        var resumed = await owner2.CallAsync("session.resume", """{"clientId":"plc-7","token":"s3cret-token"}"""u8.ToArray(), [session]);
        var site = await owner2.CallAsync("session.get", headers: [session, new("key", "site")]);

        Assert.All(refused, answer => Assert.Equal(McpStatus.Unauthorized, answer.Status));
        Assert.All(refused, answer => Assert.DoesNotContain("hall-3", answer.BodyText, StringComparison.Ordinal));
        Assert.Equal(McpStatus.SessionExpired, unknown.Status);
        Assert.Equal(McpStatus.BadRequest, malformed.Status);
        Assert.Equal(McpStatus.Ok, resumed.Status);
        Assert.Equal("hall-3", site.BodyText);
        var line = await server.Logs.WaitForAsync("session.resume refused");
        Assert.Contains(SessionIds.Redact(sessionId), line.Message, StringComparison.Ordinal);
        var logged = string.Join('\n', server.Logs.Lines.Select(l => l.Message));
        Assert.DoesNotContain(sessionId, logged, StringComparison.Ordinal);
        Assert.DoesNotContain("token\"", logged, StringComparison.Ordinal);
        Assert.DoesNotContain("guess-token", logged, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-token", logged, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clients_given_an_anonymous_role_are_not_one_principal_their_sessions_belong_to_their_tokens()
    {
        // Every client of the plain listener is "anonymous (role Device)": a name, no certificate.
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?>
        {
            ["mcp:anonymousRole"] = "Device",
            ["security:roles:Device:0:methods:0"] = "session.*",
        });
        await using var owner = await ConnectAsync(server);
        await using var other = await ConnectAsync(server);
        var sessionId = await OpenAsync(owner, "plc-7", "s3cret-token");

        var byIdAlone = await other.CallAsync("session.resume", headers: [new("session", sessionId)]);
        var withToken = await other.CallAsync("session.resume", """{"clientId":"plc-7","token":"s3cret-token"}"""u8.ToArray(), [new("session", sessionId)]);

        Assert.Equal(McpStatus.Unauthorized, byIdAlone.Status);
        Assert.Equal(McpStatus.Ok, withToken.Status);
        await server.Logs.WaitForAsync("anonymous (role Device) at");
    }

    [Fact]
    public async Task A_token_that_no_longer_opens_sessions_no_longer_resumes_the_sessions_it_opened()
    {
        var tokens = new RevocableTokens();
        await using var server = await McpdTestServer.StartAsync(configure: builder => builder.Services.AddSingleton<ISessionAuthenticator>(tokens));
        await using var owner = await ConnectAsync(server);
        var sessionId = await OpenAsync(owner, "plc-7", "s3cret-token");
        await owner.DisposeAsync();
        await using var again = await ConnectAsync(server);

        tokens.Revoked = true;
        var resumed = await again.CallAsync("session.resume", """{"clientId":"plc-7","token":"s3cret-token"}"""u8.ToArray(), [new("session", sessionId)]);

        Assert.Equal(McpStatus.Unauthorized, resumed.Status);
    }

    [Fact]
    public async Task Requests_refused_for_want_of_the_owners_proof_do_not_keep_the_session_alive()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await StartOnClockAsync(time);
        await using var owner = await ConnectAsync(server);
        await using var other = await ConnectAsync(server);
        var sessionId = await OpenAsync(owner, "plc-7", "own-secret");
        var session = new KeyValuePair<string, string>("session", sessionId);

        time.Advance(TimeSpan.FromSeconds(40));
        var refusedGet = await other.CallAsync("session.get", headers: [session, new("key", "site")]);
        var refusedResume = await other.CallAsync("session.resume", headers: [session]);
        time.Advance(TimeSpan.FromSeconds(30));
        var afterTtl = await owner.CallAsync("session.get", headers: [session]);

        Assert.Equal(McpStatus.Unauthorized, refusedGet.Status);
        Assert.Equal(McpStatus.Unauthorized, refusedResume.Status);
        Assert.Equal(McpStatus.SessionExpired, afterTtl.Status);
    }

    [Fact]
    public async Task Absurd_ttls_and_null_values_are_bad_requests()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await ConnectAsync(server);
        var sessionId = await OpenAsync(client, "c");

        var huge = await client.CallAsync("session.open", """{"clientId":"c","ttl":1e20}"""u8.ToArray());
        var nullValue = await client.CallAsync("session.set", """{"a":"1","b":null}"""u8.ToArray(), [new("session", sessionId)]);
        var after = await client.CallAsync("session.get", headers: [new("session", sessionId), new("key", "a")]);

        Assert.Equal(McpStatus.BadRequest, huge.Status);
        Assert.Equal(McpStatus.BadRequest, nullValue.Status);
        Assert.Equal(McpStatus.NotFound, after.Status);
    }

    [Fact]
    public async Task Handlers_read_and_write_the_session_of_their_connection_or_of_the_session_header()
    {
        await using var server = await McpdTestServer.StartAsync(configure: builder => builder.Services
            .AddMcpMethod("counter.bump", async (request, cancellationToken) =>
            {
                if (request.Session is not { } session)
                {
                    return McpReply.Error(McpStatus.BadRequest, "no session");
                }

                var count = int.Parse(await session.GetAsync("count", cancellationToken) ?? "0", System.Globalization.CultureInfo.InvariantCulture) + 1;
                await session.SetAsync("count", count.ToString(System.Globalization.CultureInfo.InvariantCulture), cancellationToken);
                return McpReply.Ok($"{session.Id}:{count}");
            }));
        await using var client = await ConnectAsync(server);
        await using var other = await ConnectAsync(server);
        var sessionId = await OpenAsync(client, "counter");

        var bound1 = await client.CallAsync("counter.bump");
        var bound2 = await client.CallAsync("counter.bump");
        var byHeader = await other.CallAsync("counter.bump", headers: [new("session", sessionId)]);
        var without = await other.CallAsync("counter.bump");

        Assert.Equal($"{sessionId}:1", bound1.BodyText);
        Assert.Equal($"{sessionId}:2", bound2.BodyText);
        Assert.Equal($"{sessionId}:3", byHeader.BodyText);
        Assert.Equal(McpStatus.BadRequest, without.Status);
    }

    [Fact]
    public async Task An_idle_session_expires_after_its_ttl_and_use_slides_it()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await StartOnClockAsync(time);
        await using var client = await ConnectAsync(server);
        var used = await OpenAsync(client, "a");
        var idle = await OpenAsync(client, "b");

        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(40));
            Assert.Equal(McpStatus.Ok, (await client.CallAsync("session.get", headers: [new("session", used)])).Status);
        }

        Assert.Equal(McpStatus.SessionExpired, (await client.CallAsync("session.get", headers: [new("session", idle)])).Status);
        Assert.Equal(McpStatus.Ok, (await client.CallAsync("session.get", headers: [new("session", used)])).Status);
    }

    [Fact]
    public async Task Device_call_reaches_the_live_connection_of_another_session_and_comes_back()
    {
        await using var server = await McpdTestServer.StartAsync();
        var deviceOptions = new McpClientOptions().MapMethod("device.status", (request, _) =>
            ValueTask.FromResult(McpReply.Ok($"pump running; asked '{Encoding.UTF8.GetString(request.Body.Span)}' trace {request.TraceId}")));
        await using var device = await McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, deviceOptions);
        await using var operatorClient = await ConnectAsync(server);
        var deviceSession = await OpenAsync(device, "pump-1");
        const string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

        var answer = await operatorClient.CallAsync("device.call", "status?"u8.ToArray(),
            [new("target-session", deviceSession), new("target-method", "device.status"), new(McpHeaderNames.TraceParent, traceparent)]);
        var unknownTarget = await operatorClient.CallAsync("device.call", headers: [new("target-session", "nope"), new("target-method", "device.status")]);
        var noMethod = await operatorClient.CallAsync("device.call", headers: [new("target-session", deviceSession)]);

        Assert.Equal(McpStatus.Ok, answer.Status);
        Assert.Equal("pump running; asked 'status?' trace 4bf92f3577b34da6a3ce929d0e0e4736", answer.BodyText);
        Assert.Equal(McpStatus.SessionExpired, unknownTarget.Status);
        Assert.Equal(McpStatus.BadRequest, noMethod.Status);

        await device.DisposeAsync();
        await Eventually.HoldsAsync(async () => (await operatorClient.CallAsync("device.call", headers: [new("target-session", deviceSession), new("target-method", "device.status")])).Status == McpStatus.Unavailable, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Device_call_to_a_session_held_by_a_node_that_stopped_announcing_itself_answers_unavailable()
    {
        await using var server = await McpdTestServer.StartAsync();
        var store = server.Services.GetRequiredService<ISessionStore>();
        var orphan = new SessionInfo(SessionIds.New(), "pump-9", TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow);
        await store.CreateAsync(orphan, default);
        // Bound to a node whose announcement has expired (it died without unbinding): it must not be used.
        await store.BindAsync(orphan.Id, new SessionBinding("node-that-died", "0123456789abcdef", "E0000000X"), default);
        await using var client = await ConnectAsync(server);

        var answer = await client.CallAsync("device.call", headers: [new("target-session", orphan.Id), new("target-method", "device.status")]);

        Assert.Equal(McpStatus.Unavailable, answer.Status);
        Assert.Contains("node-that-died", answer.BodyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bytes_that_are_not_utf8_are_refused_as_bad_request_not_changed_or_internal()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await ConnectAsync(server);
        byte[] notUtf8 = [0xC3, 0x28];

        byte[] openBody = [.. "{\"clientId\":\""u8, .. notUtf8, .. "\"}"u8];
        byte[] jsonBody = [.. "{\"k\":\""u8, .. notUtf8, .. "\"}"u8];
        var open = await client.CallAsync("session.open", openBody);
        var sessionId = await OpenAsync(client, "utf8");
        var set = await client.CallAsync("session.set", notUtf8, [new("session", sessionId), new("key", "raw")]);
        var setJson = await client.CallAsync("session.set", jsonBody, [new("session", sessionId)]);
        var kept = await client.CallAsync("session.set", "grüße"u8.ToArray(), [new("session", sessionId), new("key", "text")]);
        var read = await client.CallAsync("session.get", ReadOnlyMemory<byte>.Empty, [new("session", sessionId), new("key", "text")]);

        Assert.Equal(McpStatus.BadRequest, open.Status);
        Assert.Contains("valid UTF-8", open.BodyText, StringComparison.Ordinal);
        Assert.Equal(McpStatus.BadRequest, set.Status);
        Assert.Contains("not valid UTF-8", set.BodyText, StringComparison.Ordinal);
        Assert.Equal(McpStatus.BadRequest, setJson.Status);
        Assert.Equal(McpStatus.Ok, kept.Status);
        Assert.Equal("grüße"u8.ToArray(), read.Body);
    }

    [Fact]
    public async Task Values_contexts_and_key_counts_beyond_the_default_limits_are_bad_requests_and_are_not_kept()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await ConnectAsync(server);
        var sessionId = await OpenAsync(client, "big");
        var largest = Enumerable.Repeat((byte)'x', 64 * 1024).ToArray();
        var session = new KeyValuePair<string, string>("session", sessionId);

        var tooLarge = await client.CallAsync("session.set", (byte[])[.. largest, (byte)'x'], [session, new("key", "blob")]);
        // Fifteen values of 64 KiB under 3-byte keys fill 983,085 bytes of the 1 MiB context; a sixteenth would cross it.
        for (var i = 0; i < 15; i++)
        {
            Assert.Equal(McpStatus.Ok, (await client.CallAsync("session.set", largest, [session, new("key", $"k{i:00}")])).Status);
        }

        var overContext = await client.CallAsync("session.set", largest, [session, new("key", "k15")]);
        var tooManyKeys = await client.CallAsync("session.set",
            JsonSerializer.SerializeToUtf8Bytes(Enumerable.Range(0, 1025).ToDictionary(i => $"n{i}", _ => "v")), [session]);
        var all = JsonSerializer.Deserialize<Dictionary<string, string>>((await client.CallAsync("session.get", headers: [session])).Body)!;

        Assert.Equal(McpStatus.BadRequest, tooLarge.Status);
        Assert.Contains("65537 bytes; sessions.maxValueBytes is 65536", tooLarge.BodyText, StringComparison.Ordinal);
        Assert.Equal(McpStatus.BadRequest, overContext.Status);
        Assert.Contains("sessions.maxContextBytes is 1048576", overContext.BodyText, StringComparison.Ordinal);
        Assert.Equal(McpStatus.BadRequest, tooManyKeys.Status);
        Assert.Contains("sessions.maxKeys is 1024", tooManyKeys.BodyText, StringComparison.Ordinal);
        Assert.Equal(15, all.Count);
        Assert.DoesNotContain("blob", all.Keys);
    }

    [Fact]
    public async Task One_connection_opens_at_most_16_sessions_a_minute_by_default_then_is_overloaded()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using var client = await ConnectAsync(server);

        var answers = await OpenManyAsync(client, 17);

        Assert.Equal([.. Enumerable.Repeat(McpStatus.Ok, 16), McpStatus.Overloaded], answers.Select(r => r.Status));
    }

    [Fact]
    public async Task Session_opens_are_limited_per_connection_and_per_address_within_each_interval()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await McpdTestServer.StartAsync(
            new Dictionary<string, string?>
            {
                ["sessions:maxOpensPerConnection"] = "3",
                ["sessions:maxOpensPerAddress"] = "5",
                ["sessions:openInterval"] = "00:01:00",
                ["mcp:heartbeatInterval"] = "01:00:00",
            },
            builder => builder.Services.AddSingleton<TimeProvider>(time));
        await using var first = await ConnectAsync(server);
        await using var second = await ConnectAsync(server);

        var onFirst = await OpenManyAsync(first, 4);
        var onSecond = await OpenManyAsync(second, 3);
        time.Advance(TimeSpan.FromSeconds(61));
        var nextInterval = await OpenManyAsync(first, 1);

        Assert.Equal([McpStatus.Ok, McpStatus.Ok, McpStatus.Ok, McpStatus.Overloaded], onFirst.Select(r => r.Status));
        Assert.Contains("sessions.maxOpensPerConnection is 3", onFirst[3].BodyText, StringComparison.Ordinal);
        Assert.Equal([McpStatus.Ok, McpStatus.Ok, McpStatus.Overloaded], onSecond.Select(r => r.Status));
        Assert.Contains("sessions.maxOpensPerAddress is 5", onSecond[2].BodyText, StringComparison.Ordinal);
        Assert.Equal(McpStatus.Ok, Assert.Single(nextInterval).Status);
    }

    private static async Task<List<McpResponse>> OpenManyAsync(McpClient client, int count)
    {
        List<McpResponse> answers = [];
        for (var i = 0; i < count; i++)
        {
            // A client id of its own each: the same one again would take the previous session over (One owner).
            answers.Add(await client.CallAsync("session.open", Encoding.UTF8.GetBytes($$"""{"clientId":"many-{{Guid.NewGuid():N}}"}""")));
        }

        return answers;
    }

    /// <summary>Opens a session for <paramref name="clientId"/>, with <paramref name="token"/> when given; its id.</summary>
    internal static async Task<string> OpenAsync(McpClient client, string clientId, string? token = null)
    {
        var request = token is null ? new Dictionary<string, string> { ["clientId"] = clientId } : new() { ["clientId"] = clientId, ["token"] = token };
        var opened = await client.CallAsync("session.open", JsonSerializer.SerializeToUtf8Bytes(request));
        Assert.Equal(McpStatus.Ok, opened.Status);
        using var body = JsonDocument.Parse(opened.Body);
        return body.RootElement.GetProperty("sessionId").GetString()!;
    }

    /// <summary>A server on <paramref name="time"/>, with sessions of one minute by default and no heartbeat in the way.</summary>
    private static Task<McpdTestServer> StartOnClockAsync(FakeTimeProvider time) => McpdTestServer.StartAsync(
        new Dictionary<string, string?> { ["sessions:defaultTtl"] = "00:01:00", ["mcp:heartbeatInterval"] = "01:00:00" },
        builder => builder.Services.AddSingleton<TimeProvider>(time));

    private static Task<McpClient> ConnectAsync(McpdTestServer server) =>
        McpClient.ConnectAsync("127.0.0.1", server.McpEndPoint.Port, new McpClientOptions { RequestTimeout = TimeSpan.FromSeconds(5) });

    /// <summary>Accepts any token until it is told the tokens were revoked (as when one is taken out of sessions.tokens).</summary>
    private sealed class RevocableTokens : ISessionAuthenticator
    {
        public bool Revoked { get; set; }

        public ValueTask<bool> AuthenticateAsync(string clientId, string? token, CancellationToken cancellationToken) => ValueTask.FromResult(!Revoked);
    }

}
