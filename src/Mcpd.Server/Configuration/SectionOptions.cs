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
        services.AddOptions<TSection>().BindChecked(source);
        services.AddSingleton<IValidateOptions<TSection>, ValidatedWithRoot<TSection>>();
        return services;
    }

    /// <summary>
    /// Binds the options to <paramref name="source"/> with <see cref="CheckedBinder"/> (what is bound is what the
    /// configuration check read) and follows its change token. A type read from the root takes its settings from the
    /// root's one binding (<see cref="ConfigurationTree.Bound"/>), a section's type binds the section. A key that
    /// does not bind throws, naming it.
    /// </summary>
    public static OptionsBuilder<TOptions> BindChecked<TOptions>(this OptionsBuilder<TOptions> builder, IConfiguration source)
        where TOptions : class
    {
        builder.Services.AddSingleton<IOptionsChangeTokenSource<TOptions>>(new ConfigurationChangeTokenSource<TOptions>(builder.Name, source));
        return builder.Configure(options =>
        {
            var tree = ConfigurationTree.Of(source);
            IReadOnlyList<string> problems;
            if (source is IConfigurationRoot)
            {
                problems = tree.CopyBound(options);
            }
            else
            {
                problems = CheckedBinder.Bind(tree, options, reportUnknown: true);
            }

            if (problems.Count > 0)
            {
                throw new InvalidOperationException($"The configuration does not bind to {typeof(TOptions).Name}: {string.Join("; ", problems)}");
            }
        });
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
