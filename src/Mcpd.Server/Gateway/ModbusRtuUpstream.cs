using Mcpd.Server.Devices;
using Microsoft.Extensions.Logging;

namespace Mcpd.Server.Gateway;

/// <summary>PLACEHOLDER: being written.</summary>
internal sealed class ModbusRtuUpstream(string name, UpstreamOptions options, TimeProvider time, ILoggerFactory loggers) : IModbusUpstream
{
    public string Name { get; } = name;

    public UpstreamState State => UpstreamState.Down;

    public ValueTask<int> ExecuteAsync(byte unit, ReadOnlyMemory<byte> request, Memory<byte> response, ModbusCaller caller, CancellationToken cancellationToken) =>
        throw new NotImplementedException($"{options}{time}{loggers}");

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
