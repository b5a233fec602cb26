namespace Mcpd.Client.Modbus;

/// <summary>Settings of a <see cref="ModbusTcpClient"/>.</summary>
public sealed class ModbusClientOptions
{
    /// <summary>How long a request waits for its response before it fails with a <see cref="TimeoutException"/>.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long <see cref="ModbusTcpClient.ConnectAsync(string, int, ModbusClientOptions?, CancellationToken)"/> tries.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
