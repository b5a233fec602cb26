using System.Diagnostics;
using System.Text.Json;
using Mcpd.Testing;

namespace Mcpd.Interop.Tests;

/// <summary>
/// The agent endpoint (Model Context Protocol) against an independent peer: the TypeScript SDK's client
/// (npm <c>@modelcontextprotocol/sdk</c>, installed by the test into a cache directory with npm; Node.js from Debian's
/// nodejs and npm packages when missing) runs AgentTs/session.mjs over Streamable HTTP.
/// </summary>
public sealed class AgentTypeScriptTests(ITestOutputHelper output)
{
    private const string Node = "/usr/bin/node";
    private const string Npm = "/usr/bin/npm";
    private static readonly SemaphoreSlim InstallOne = new(1, 1);

    [Fact]
    public async Task The_TypeScript_SDK_client_lists_reads_the_seed_device_is_refused_a_write_and_is_notified_after_a_Modbus_write()
    {
        var directory = await InstallSdkAsync();
        await using var server = await McpdTestServer.StartAsync(new Dictionary<string, string?> { ["agent:subscriptionInterval"] = "200ms" });
        await using var modbus = await server.ConnectClientAsync();
        var start = new ProcessStartInfo(Node) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("session.mjs");
        start.ArgumentList.Add(new Uri(server.AdminUri, "mcp").ToString());
        using var node = Process.Start(start)!;
        var errors = node.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        string? last = null;
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (await node.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
            {
                output.WriteLine(line);
                last = line;
                if (line == "subscribed")
                {
                    await modbus.WriteSingleRegisterAsync(1, 1, 61);
                }
            }

            await node.WaitForExitAsync(deadline.Token);
        }
        finally
        {
            if (!node.HasExited)
            {
                node.Kill(entireProcessTree: true);
            }
        }

        Assert.True(node.ExitCode == 0, $"node session.mjs exited {node.ExitCode}: {await errors}");
        using var summary = JsonDocument.Parse(last!);
        Assert.Equal(100, summary.RootElement.GetProperty("temperature").GetDouble());
        Assert.Equal(85, summary.RootElement.GetProperty("humidity").GetDouble());
        Assert.Equal(61, summary.RootElement.GetProperty("humidityAfter").GetDouble());
    }

    /// <summary>The script and its package in a directory of its own, the SDK installed there once (npm's cache serves later runs).</summary>
    private static async Task<string> InstallSdkAsync()
    {
        await DebianPackages.EnsureAsync("nodejs", [Node], "the TypeScript SDK interop test");
        await DebianPackages.EnsureAsync("npm", [Npm], "the TypeScript SDK interop test");
        var source = Path.Combine(AppContext.BaseDirectory, "AgentTs");
        var package = await File.ReadAllTextAsync(Path.Combine(source, "package.json"));
        var directory = Path.Combine(Path.GetTempPath(), $"mcpd-agent-ts-{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(package)))[..12]}");
        await InstallOne.WaitAsync();
        try
        {
            Directory.CreateDirectory(directory);
            File.Copy(Path.Combine(source, "package.json"), Path.Combine(directory, "package.json"), overwrite: true);
            File.Copy(Path.Combine(source, "session.mjs"), Path.Combine(directory, "session.mjs"), overwrite: true);
            if (!File.Exists(Path.Combine(directory, "node_modules", "@modelcontextprotocol", "sdk", "package.json")))
            {
                var install = await ProcessRunner.RunAsync(Npm, ["install", "--no-audit", "--no-fund", "--prefix", directory], TimeSpan.FromMinutes(5));
                Assert.True(install.Succeeded, $"npm could not install @modelcontextprotocol/sdk:\n{install}");
            }
        }
        finally
        {
            InstallOne.Release();
        }

        return directory;
    }
}
