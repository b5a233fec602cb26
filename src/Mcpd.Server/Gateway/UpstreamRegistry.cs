using Mcpd.Server.Devices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Gateway;

/// <summary>
/// The upstreams of the config (section <c>upstreams</c>), built at start: each starts its background work with the
/// host and is closed when the host stops, after the listeners have drained.
/// </summary>
public sealed class UpstreamRegistry : IHostedService, IAsyncDisposable, IUpstreamDevices
{
    private readonly Dictionary<string, IModbusUpstream> _byName = new(StringComparer.OrdinalIgnoreCase);
    private int _disposed;

    /// <summary>
    /// Builds every configured upstream with the factory of its kind; the options must have passed validation, which
    /// knows the kinds (<see cref="UpstreamKinds"/>).
    /// </summary>
    public UpstreamRegistry(IOptions<UpstreamsOptions> options, IEnumerable<IModbusUpstreamFactory> factories)
    {
        ArgumentNullException.ThrowIfNull(options);
        var byKind = factories.ToDictionary(factory => factory.Kind, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, upstream) in options.Value.Upstreams)
        {
            _byName[name] = byKind[upstream.Kind].Create(name, upstream);
        }
    }

    /// <summary>Every upstream.</summary>
    public IReadOnlyCollection<IModbusUpstream> All => _byName.Values;

    /// <summary>The upstream named <paramref name="name"/>; validation guarantees it exists for a configured device.</summary>
    public IModbusUpstream this[string name] => _byName[name];

    /// <inheritdoc />
    public IModbusDevice DeviceBehind(string name, string upstream, byte upstreamUnit) => new GatewayDevice(name, this[upstream], upstreamUnit);

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.WhenAll(_byName.Values.Select(u => u.StartAsync(cancellationToken)));

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    /// <remarks>
    /// Registered as a singleton and as a hosted service (the same instance), the container disposes it twice; the
    /// upstreams are closed once.
    /// </remarks>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        foreach (var upstream in _byName.Values)
        {
            await upstream.DisposeAsync();
        }
    }
}
