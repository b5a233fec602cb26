using System.Collections;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http.Features;

namespace Mcpd.Server.Transport;

/// <summary>
/// The features of an <see cref="EpollConnection"/>, in slots inside this one object: Kestrel sets five or so on every
/// connection, and a FeatureCollection (with its dictionary) would cost each idle connection ~200 bytes more.
/// Past <see cref="SlotCount"/> features a FeatureCollection takes the rest.
/// </summary>
internal sealed class ConnectionFeatures : IFeatureCollection
{
    private const int SlotCount = 8;

    private Slots _slots;
    private int _count;
    private FeatureCollection? _overflow;
    private int _revision;

    public bool IsReadOnly => false;

    public int Revision => _revision + (_overflow?.Revision ?? 0);

    public object? this[Type key]
    {
        get
        {
            for (var i = 0; i < _count; i++)
            {
                if (_slots[i].Key == key)
                {
                    return _slots[i].Value;
                }
            }

            return _overflow?[key];
        }

        set
        {
            _revision++;
            for (var i = 0; i < _count; i++)
            {
                if (_slots[i].Key == key)
                {
                    _slots[i] = new(key, value);
                    return;
                }
            }

            if (_count < SlotCount)
            {
                _slots[_count++] = new(key, value);
            }
            else
            {
                (_overflow ??= new FeatureCollection())[key] = value;
            }
        }
    }

    public TFeature? Get<TFeature>() => (TFeature?)this[typeof(TFeature)];

    public void Set<TFeature>(TFeature? instance) => this[typeof(TFeature)] = instance;

    public IEnumerator<KeyValuePair<Type, object>> GetEnumerator()
    {
        for (var i = 0; i < _count; i++)
        {
            if (_slots[i].Value is { } value)
            {
                yield return new(_slots[i].Key, value);
            }
        }

        foreach (var feature in _overflow ?? Enumerable.Empty<KeyValuePair<Type, object>>())
        {
            yield return feature;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    [InlineArray(SlotCount)]
    private struct Slots
    {
        private KeyValuePair<Type, object?> _first;
    }
}
