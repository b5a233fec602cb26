using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Configuration;

/// <summary>
/// Options of one part of the configuration, for the classes that read only that part. The root
/// <see cref="McpdOptions"/> stays the unit of validation: a section is valid only when the whole configuration is
/// (a device names an upstream, a rule names a lane or a node), so a section's options are never handed out before
/// <see cref="McpdOptionsValidator"/> has passed the configuration they come from.
/// </summary>
internal static class SectionOptions
{
    /// <summary>
    /// Binds <typeparamref name="TSection"/> to <paramref name="source"/> with its change token, so that
    /// <see cref="IOptionsMonitor{TOptions}"/> follows hot reload; <paramref name="source"/> is a root section, or the
    /// root itself for a type whose properties are root sections (a list or a map cannot be an options type).
    /// </summary>
    public static IServiceCollection AddSectionOptions<TSection>(this IServiceCollection services, IConfiguration source)
        where TSection : class
    {
        services.AddOptions<TSection>().Bind(source);
        services.AddSingleton<IValidateOptions<TSection>, ValidatedWithRoot<TSection>>();
        return services;
    }

    /// <summary>Fails a section with every problem of the whole configuration, as the root's validation reports them.</summary>
    private sealed class ValidatedWithRoot<TSection>(IOptionsMonitor<McpdOptions> root) : IValidateOptions<TSection>
        where TSection : class
    {
        public ValidateOptionsResult Validate(string? name, TSection options)
        {
            try
            {
                _ = root.CurrentValue;
                return ValidateOptionsResult.Success;
            }
            catch (OptionsValidationException ex)
            {
                return ValidateOptionsResult.Fail(ex.Failures);
            }
        }
    }
}
