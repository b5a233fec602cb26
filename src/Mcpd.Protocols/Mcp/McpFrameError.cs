namespace Mcpd.Protocols.Mcp;

/// <summary>Why <see cref="McpFrameCodec.Decode"/> or <see cref="McpChannelCodec.Decode"/> returned InvalidData; each maps to the ERROR status sent before closing.</summary>
public enum McpFrameError
{
    /// <summary>The frame is valid.</summary>
    None,
    /// <summary>The first two bytes are not 0x4D43: answered with ERROR BAD_REQUEST.</summary>
    BadMagic,
    /// <summary>The version byte is not 1: answered with ERROR UNSUPPORTED_VERSION.</summary>
    UnsupportedVersion,
    /// <summary>The declared payload exceeds the maximum: answered with ERROR FRAME_TOO_LARGE, before reading it.</summary>
    FrameTooLarge,
    /// <summary>A delimiting layer's envelope (a CRC frame) does not hold exactly one MCP frame: answered with ERROR BAD_REQUEST.</summary>
    NotOneFrame,
    /// <summary>The layer threw away more than its noise budget without one good frame: answered with ERROR BAD_REQUEST.</summary>
    TooMuchNoise,
}
