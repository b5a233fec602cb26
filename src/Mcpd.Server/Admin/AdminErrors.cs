using Microsoft.AspNetCore.Http;

namespace Mcpd.Server.Admin;

/// <summary>Every error of the admin API is JSON <c>{"error": "..."}</c> with its status (docs/api.md).</summary>
internal static class AdminErrors
{
    /// <summary>The error as an endpoint's result.</summary>
    public static IResult Json(int status, string message) => Results.Json(new { error = message }, statusCode: status);

    /// <summary>Writes the error as the response of <paramref name="context"/>, from a middleware or an authentication handler.</summary>
    public static Task WriteAsync(HttpContext context, int status, string message) => Json(status, message).ExecuteAsync(context);
}
