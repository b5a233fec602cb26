using Mcpd.Server.Gateway;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Gateway;

/// <summary>
/// The gateway against an RTU slave that is a process of its own (<see cref="PythonRtuSlave"/>, unit 1) on a socat
/// pseudo-terminal pair: what a real device on the bus sends, byte for byte, and its faults.
/// </summary>
public sealed class RtuSlaveProcessTests
{
    [Fact]
    public async Task Return_query_data_with_two_data_words_is_answered_with_the_slaves_echo()
    {
        // On the line: 01 08 00 00 12 34 56 78 73 33, and the slave echoes it byte for byte (Application Protocol
        // 6.8.1): the answer is as long as the request, not the 5 bytes of the other sub-functions.
        await using var bus = await StartAsync();
        await using var client = await bus.Server.ConnectClientAsync();

        var answer = await client.SendAsync(1, Convert.FromHexString("08000012345678"));

        Assert.Equal("08000012345678", Convert.ToHexString(answer));
        Assert.Equal(["01080000123456787333"], bus.Slave.Heard);
        Assert.Equal(0, bus.Upstream.CrcErrors);
        Assert.Equal(UpstreamState.Up, bus.Upstream.State);
    }

    /// <summary>The bus with the slave process as unit 1 (unit 2 is configured and absent); it ignores its first <paramref name="ignoreFirst"/> requests.</summary>
    private static Task<RtuBench<PythonRtuSlave>> StartAsync(Dictionary<string, string?>? extra = null, int ignoreFirst = 0, TimeSpan slaveDelay = default) =>
        RtuBench<PythonRtuSlave>.StartAsync(port => PythonRtuSlave.StartAsync(port, 1, ignoreFirst, slaveDelay), extra);
}
