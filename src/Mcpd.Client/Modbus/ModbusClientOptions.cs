namespace Mcpd.Client.Modbus;

/// <summary>Settings of a <see cref="ModbusTcpClient"/>.</summary>
public sealed class ModbusClientOptions
{
    /// <summary>How long a request waits for its response before it fails with a <see cref="TimeoutException"/>.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How long <see cref="ModbusTcpClient.ConnectAsync(string, int, ModbusClientOptions?, CancellationToken)"/> tries.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// TLS for the connection, as Modbus/TCP Security (port 802) requires, with the client certificate that carries
    /// the client's role; null (the default) speaks plain Modbus TCP. The connect timeout bounds the handshake too.
    /// </summary>
    public ClientTlsOptions? Tls { get; set; }
}
