using System.Globalization;
using System.Text.RegularExpressions;
using Mcpd.Testing;

namespace Mcpd.Interop.Tests;

/// <summary>
/// mbpoll (libmodbus) talks to a real mcpd. mbpoll references are 1-based unless -0 is given: -r 1 is offset 0.
/// One value written is FC05/FC06, several are FC0F/FC10. It prints each value read as <c>[ref]: value</c>.
/// </summary>
public sealed partial class MbpollTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ReadHoldingRegisters_PrintsTemperatureAndHumidity()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await MbpollAsync(server, ["-a", "1", "-r", "1", "-c", "2", "-t", "4"]);

        Assert.True(result.Succeeded, $"mbpoll failed:\n{result}");
        Assert.Equal(new Dictionary<int, int> { [1] = 100, [2] = 85 }, Values(result));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("255")]
    public async Task ReadHoldingRegisters_OnTheDefaultUnitIds_ReachUnit1(string unit)
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await MbpollAsync(server, ["-a", unit, "-r", "1", "-c", "2", "-t", "4"]);

        Assert.True(result.Succeeded, $"mbpoll failed:\n{result}");
        Assert.Equal(new Dictionary<int, int> { [1] = 100, [2] = 85 }, Values(result));
    }

    [Theory]
    [InlineData("1")] // discrete inputs
    [InlineData("3")] // input registers
    [InlineData("0")] // coils
    public async Task ReadUnwrittenTables_PrintsZeros(string type)
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await MbpollAsync(server, ["-a", "1", "-r", "1", "-c", "3", "-t", type]);

        Assert.True(result.Succeeded, $"mbpoll failed:\n{result}");
        Assert.Equal(new Dictionary<int, int> { [1] = 0, [2] = 0, [3] = 0 }, Values(result));
    }

    [Theory]
    [InlineData(new ushort[] { 1234, 5678 })] // FC10
    [InlineData(new ushort[] { 4321 })] // FC06
    public async Task WriteHoldingRegisters_AreReadBackByTheProjectClient(ushort[] values)
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await MbpollAsync(server, ["-a", "1", "-r", "10", "-t", "4"], [.. values.Select(v => v.ToString(CultureInfo.InvariantCulture))]);

        Assert.True(result.Succeeded, $"mbpoll failed:\n{result}");
        Assert.Contains($"Written {values.Length} references.", result.StandardOutput, StringComparison.Ordinal);
        await using var client = await server.ConnectClientAsync();
        var registers = await client.ReadHoldingRegistersAsync(1, 9, values.Length + 1, TestContext.Current.CancellationToken);
        Assert.Equal([.. values, (ushort)0], registers);
    }

    [Theory]
    [InlineData(new[] { true, false, true })] // FC0F
    [InlineData(new[] { true })] // FC05
    public async Task WriteCoils_AreReadBackByTheProjectClient(bool[] values)
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await MbpollAsync(server, ["-a", "1", "-r", "5", "-t", "0"], [.. values.Select(v => v ? "1" : "0")]);

        Assert.True(result.Succeeded, $"mbpoll failed:\n{result}");
        Assert.Contains($"Written {values.Length} references.", result.StandardOutput, StringComparison.Ordinal);
        await using var client = await server.ConnectClientAsync();
        var coils = await client.ReadCoilsAsync(1, 3, values.Length + 2, TestContext.Current.CancellationToken);
        Assert.Equal([false, .. values, false], coils);
    }

    [Fact]
    public async Task ReadRegistersWrittenByTheProjectClient_WithPduAddressing()
    {
        await using var server = await McpdTestServer.StartAsync();
        await using (var client = await server.ConnectClientAsync())
        {
            await client.WriteMultipleRegistersAsync(1, 500, [7, 0x8000, 65535], TestContext.Current.CancellationToken);
        }

        var result = await MbpollAsync(server, ["-a", "1", "-0", "-r", "500", "-c", "3", "-t", "4"]);

        Assert.True(result.Succeeded, $"mbpoll failed:\n{result}");
        Assert.Equal(new Dictionary<int, int> { [500] = 7, [501] = 0x8000, [502] = 65535 }, Values(result));
    }

    [Fact]
    public async Task ReadPastTheEnd_FailsWithIllegalDataAddress()
    {
        await using var server = await McpdTestServer.StartAsync();

        var result = await MbpollAsync(server, ["-a", "1", "-r", "10000", "-c", "2", "-t", "4"]);

        Assert.False(result.TimedOut, $"mbpoll hung:\n{result}");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Illegal data address", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(Values(result));
    }

    /// <summary>
    /// One poll (-1) over Modbus TCP to the server, answer timeout 5 s (mbpoll's default of 1 s is tight on a busy
    /// CI machine). With <paramref name="writeValues"/> mbpoll writes them (they follow the host) instead of reading.
    /// </summary>
    private async Task<ProcessResult> MbpollAsync(McpdTestServer server, string[] options, string[]? writeValues = null)
    {
        var endPoint = server.ModbusEndPoint;
        var result = await ProcessRunner.RunAsync(
            InteropTools.Mbpoll,
            ["-m", "tcp", "-1", "-o", "5", "-p", endPoint.Port.ToString(CultureInfo.InvariantCulture), .. options, endPoint.Address.ToString(), .. writeValues ?? []],
            cancellationToken: TestContext.Current.CancellationToken);
        output.WriteLine(result.ToString());
        return result;
    }

    /// <summary>The <c>[ref]: value</c> lines mbpoll printed (a 16-bit register may add its signed value in parentheses).</summary>
    private static Dictionary<int, int> Values(ProcessResult result) =>
        ValueLine().Matches(result.StandardOutput).ToDictionary(
            m => int.Parse(m.Groups["reference"].Value, CultureInfo.InvariantCulture),
            m => int.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^\[(?<reference>\d+)\]:\s+(?<value>-?\d+)", RegexOptions.Multiline)]
    private static partial Regex ValueLine();
}
