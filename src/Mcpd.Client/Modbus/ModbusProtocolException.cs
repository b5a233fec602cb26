namespace Mcpd.Client.Modbus;

/// <summary>
/// The server answered with a response that cannot belong to the request (another unit, another function, an
/// impossible length). The client closed the connection, since nothing it reads afterwards can be trusted, and every
/// other request waiting on it failed with an <see cref="IOException"/>.
/// </summary>
public sealed class ModbusProtocolException : IOException
{
    /// <summary>Creates the exception with a message naming the server and what was wrong.</summary>
    public ModbusProtocolException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception without details.</summary>
    public ModbusProtocolException()
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public ModbusProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
