namespace Mcpd.Server.Configuration;

/// <summary>The meaning of <c>persistence</c> (part of <see cref="McpdOptionsValidator"/>).</summary>
internal static class PersistenceValidation
{
    public static void Check(McpdOptions options, List<string> problems)
    {
        var persistence = options.Persistence;
        if (persistence.Interval <= TimeSpan.Zero)
        {
            problems.Add($"persistence:interval: {persistence.Interval} must be positive");
        }

        if (!string.IsNullOrEmpty(persistence.File) && (persistence.File.EndsWith('/') || Path.GetFileName(persistence.File) is "." or ".."))
        {
            problems.Add($"persistence:file: '{persistence.File}' names a directory; name the state file in it (e.g. state/mcpd.state)");
        }
    }
}
