using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Mcpd.Cli;

/// <summary>
/// Console logging: one human-readable line per event, or JSON lines with --log-format json. Both print scopes, so a
/// line logged while a request runs carries its trace id: <c>=&gt; TraceId:4bf9...</c> in text, a <c>TraceId</c>
/// property in the <c>Scopes</c> of a JSON line.
/// </summary>
internal static class ConsoleLogging
{
    public static void Add(ILoggingBuilder logging, bool json)
    {
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        // The Model Context Protocol SDK (the agent endpoint) logs each request at Information: nothing per request is.
        logging.AddFilter("ModelContextProtocol", LogLevel.Warning);
        if (json)
        {
            logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
                o.IncludeScopes = true;
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.ColorBehavior = LoggerColorBehavior.Disabled;
                o.IncludeScopes = true;
            });
        }
    }
}
