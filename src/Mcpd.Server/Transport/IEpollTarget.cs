namespace Mcpd.Server.Transport;

/// <summary>What an <see cref="EpollLoop"/> delivers readiness to: a connection, or a listener waiting to accept.</summary>
internal interface IEpollTarget
{
    /// <summary>The loop's id of this target (slot and generation), set by <see cref="EpollLoop.Register"/>.</summary>
    ulong Id { get; set; }

    /// <summary>Readiness reported by the loop, on the loop thread; nothing may escape from it.</summary>
    void OnEvents(uint events);
}
