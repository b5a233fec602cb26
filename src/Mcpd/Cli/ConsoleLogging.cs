using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Mcpd.Cli;

/// <summary>Console logging: one human-readable line per event, or JSON lines with --log-format json.</summary>
internal static class ConsoleLogging
{
    public static void Add(ILoggingBuilder logging, bool json)
    {
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        if (json)
        {
            logging.AddJsonConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ");
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        }
    }
}
