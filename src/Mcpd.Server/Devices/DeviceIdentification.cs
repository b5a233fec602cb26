using System.Text;
using Mcpd.Protocols.Modbus;

namespace Mcpd.Server.Devices;

/// <summary>
/// The objects of Read Device Identification (FC2B / MEI 0x0E, 6.21), encoded once at start.
/// Invariant: objects 0x00..0x02 are always present (mandatory), and no value exceeds
/// <see cref="DeviceIdentificationObjects.MaxObjectLength"/>, so an object always fits one response whole.
/// </summary>
internal sealed class DeviceIdentification
{
    private readonly byte[]?[] _objects = new byte[]?[256];

    public DeviceIdentification(IEnumerable<KeyValuePair<byte, string>> objects)
    {
        foreach (var (id, value) in objects)
        {
            _objects[id] = Encoding.UTF8.GetBytes(value);
        }

        for (var id = DeviceIdentificationObjects.VendorName; id <= DeviceIdentificationObjects.MajorMinorRevision; id++)
        {
            if (_objects[id] is null)
            {
                throw new ArgumentException($"Mandatory object {DeviceIdentificationObjects.NameOf(id)} is missing.", nameof(objects));
            }
        }

        var hasPrivate = false;
        var hasRegular = false;
        for (var id = 0; id < 256; id++)
        {
            hasPrivate |= id >= DeviceIdentificationObjects.FirstPrivate && _objects[id] is not null;
            hasRegular |= id > DeviceIdentificationObjects.MajorMinorRevision && id < DeviceIdentificationObjects.FirstPrivate && _objects[id] is not null;
        }

        // 6.21 conformity level: 0x80 = individual access supported, plus the highest category served in streams.
        ConformityLevel = (byte)(0x80 | (hasPrivate ? 0x03 : hasRegular ? 0x02 : 0x01));
    }

    public byte ConformityLevel { get; }

    public ReadOnlySpan<byte> this[byte id] => _objects[id];

    public bool Contains(byte id) => _objects[id] is not null;
}
