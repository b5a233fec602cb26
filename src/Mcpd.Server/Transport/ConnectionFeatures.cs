using System.Collections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Mcpd.Server.Transport;

/// <summary>
/// The features of an <see cref="EpollConnection"/>: the three Kestrel sets on every connection (heartbeat, completion,
/// lifetime notification) live in fields; anything else goes to a dictionary made only when first needed. Kestrel's
/// own transport connection does the same; a plain FeatureCollection would cost every idle connection ~170 bytes.
/// </summary>
internal sealed class ConnectionFeatures : IFeatureCollection
{
    private IConnectionHeartbeatFeature? _heartbeat;
    private IConnectionCompleteFeature? _complete;
    private IConnectionLifetimeNotificationFeature? _lifetimeNotification;
    private FeatureCollection? _others;
    private int _revision;

    public bool IsReadOnly => false;

    public int Revision => _revision + (_others?.Revision ?? 0);

    public object? this[Type key]
    {
        get => key == typeof(IConnectionHeartbeatFeature) ? _heartbeat
            : key == typeof(IConnectionCompleteFeature) ? _complete
            : key == typeof(IConnectionLifetimeNotificationFeature) ? _lifetimeNotification
            : _others?[key];
        set
        {
            _revision++;
            if (key == typeof(IConnectionHeartbeatFeature))
            {
                _heartbeat = (IConnectionHeartbeatFeature?)value;
            }
            else if (key == typeof(IConnectionCompleteFeature))
            {
                _complete = (IConnectionCompleteFeature?)value;
            }
            else if (key == typeof(IConnectionLifetimeNotificationFeature))
            {
                _lifetimeNotification = (IConnectionLifetimeNotificationFeature?)value;
            }
            else
            {
                (_others ??= new FeatureCollection())[key] = value;
            }
        }
    }

    public TFeature? Get<TFeature>() => (TFeature?)this[typeof(TFeature)];

    public void Set<TFeature>(TFeature? instance) => this[typeof(TFeature)] = instance;

    public IEnumerator<KeyValuePair<Type, object>> GetEnumerator()
    {
        if (_heartbeat is not null)
        {
            yield return new(typeof(IConnectionHeartbeatFeature), _heartbeat);
        }

        if (_complete is not null)
        {
            yield return new(typeof(IConnectionCompleteFeature), _complete);
        }

        if (_lifetimeNotification is not null)
        {
            yield return new(typeof(IConnectionLifetimeNotificationFeature), _lifetimeNotification);
        }

        foreach (var feature in _others ?? Enumerable.Empty<KeyValuePair<Type, object>>())
        {
            yield return feature;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
