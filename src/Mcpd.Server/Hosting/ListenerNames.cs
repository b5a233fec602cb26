namespace Mcpd.Server.Hosting;

/// <summary>Names of mcpd's listeners, as used in <see cref="ListenerEndpoints"/>, the connection registry and logs.</summary>
public static class ListenerNames
{
    /// <summary>The Modbus TCP listener.</summary>
    public const string Modbus = "modbus";
}
