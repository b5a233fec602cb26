using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Mcpd.Protocols.Mcp;

/// <summary>
/// The JSON body of an error RESP (docs/protocol.md, "RESP"): <c>{"code":1,"status":"BAD_REQUEST","message":"...","timestamp":"...",
/// "traceId":"..."}</c>. The trace id is the request's (<see cref="TraceIdOf"/>).
/// </summary>
public static class McpErrorBody
{
    /// <summary>The error body for <paramref name="status"/>, stamped <paramref name="now"/>.</summary>
    public static byte[] Create(McpStatus status, string message, string traceId, DateTimeOffset now)
    {
        var output = new ArrayBufferWriter<byte>(256);
        // Relaxed escaping: the body is read by programs and people, never embedded in HTML.
        using (var json = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteNumber("code", (ushort)status);
            json.WriteString("status", McpStatusNames.Of(status));
            json.WriteString("message", message);
            json.WriteString("timestamp", now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("traceId", traceId);
            json.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }

    /// <summary>The <c>message</c> of an error body; false when <paramref name="body"/> is not one.</summary>
    public static bool TryReadMessage(ReadOnlySpan<byte> body, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? message)
    {
        message = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isMessage = reader.ValueTextEquals("message"u8);
                if (!reader.Read())
                {
                    return false;
                }

                if (isMessage && reader.TokenType == JsonTokenType.String)
                {
                    message = reader.GetString()!;
                    return true;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
            // Not JSON: no message.
        }

        return false;
    }

    /// <summary>The trace id of a W3C traceparent ("00-{32 hex}-{16 hex}-{2 hex}"), or a new random one.</summary>
    public static string TraceIdOf(string? traceparent) =>
        traceparent is { Length: 55 } && traceparent[2] == '-' && traceparent[35] == '-' && !traceparent.AsSpan(3, 32).ContainsAnyExcept(LowerHex)
            ? traceparent.Substring(3, 32)
            : NewTraceId();

    /// <summary>A new trace id: 16 random bytes in lowercase hex (W3C Trace Context; not a secret, so not from the CSPRNG).</summary>
    public static string NewTraceId()
    {
        Span<byte> id = stackalloc byte[16];
        Random.Shared.NextBytes(id);
        return Convert.ToHexStringLower(id);
    }

    private static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");
}
