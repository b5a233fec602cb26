namespace Mcpd.Server.Devices;

/// <summary>
/// Who answered one request: the device, or mcpd in its place. A gateway upstream that answers a request itself with
/// an exception of its own (Application Protocol 7: 0x0A no path to the device, 0x0B the device did not answer; also
/// 06 busy, 03 a request too short to send) instead of passing on the device's PDU marks it here before it completes
/// the request. A caller that must say who answered (the admin API) passes one per request in
/// <see cref="ModbusCaller.AnswerOrigin"/>; the protocol listeners pass none, so their requests allocate nothing for it.
/// </summary>
public sealed class ModbusAnswerOrigin
{
    private volatile bool _byGateway;

    /// <summary>True when mcpd answered in the device's place: the exception PDU is mcpd's, not the device's.</summary>
    public bool ByGateway => _byGateway;

    /// <summary>Marks the answer as mcpd's own; called by the upstream before the request completes.</summary>
    public void MarkByGateway() => _byGateway = true;
}
