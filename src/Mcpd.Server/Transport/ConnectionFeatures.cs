using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http.Features;

namespace Mcpd.Server.Transport;

/// <summary>
/// The features of an <see cref="EpollConnection"/>, in slots inside the connection itself (a field, not an object of
/// its own): Kestrel sets four on every connection (heartbeat, completion, lifetime, metrics; a fifth when its
/// connection-duration metric is listened to) and MCP one more, and a FeatureCollection (with its dictionary) would
/// cost each idle connection ~200 bytes more. Past <see cref="SlotCount"/> features (TLS sets several) a
/// FeatureCollection takes the rest.
/// </summary>
internal struct ConnectionFeatures
{
    private const int SlotCount = 6;

    private Slots _slots;
    private int _count;
    private FeatureCollection? _overflow;
    private int _revision;

    public readonly int Revision => _revision + (_overflow?.Revision ?? 0);

    public object? this[Type key]
    {
        readonly get
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

    /// <summary>The features set (not null), as they are when enumeration starts.</summary>
    public readonly IEnumerator<KeyValuePair<Type, object>> GetEnumerator()
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

    [InlineArray(SlotCount)]
    private struct Slots
    {
        private KeyValuePair<Type, object?> _first;
    }
}
