using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Mcpd.Testing;

namespace Mcpd.Server.Tests.Cli;

/// <summary><c>mcpd token hash</c>: what admin:tokens:N:sha256 must hold for a token, and new tokens.</summary>
public class TokenCommandTests
{
    private static readonly string McpdDll = typeof(Mcpd.Cli.ExitCodes).Assembly.Location;

    [Theory]
    [InlineData("correct horse battery staple", "correct horse battery staple")]
    [InlineData("ppNFeiaEMRfPszA8-ysTy5biu_sau7trM1NvfwaN0YU\n", "ppNFeiaEMRfPszA8-ysTy5biu_sau7trM1NvfwaN0YU")]
    [InlineData("  s3cr\u00e9t \r\n", "s3cr\u00e9t")]
    public async Task Hash_prints_the_sha256_of_the_token_read_from_stdin(string input, string token)
    {
        var result = await ProcessRunner.RunAsync("dotnet", [McpdDll, "token", "hash"], standardInput: input);

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token))), result.StandardOutput.Trim());
    }

    [Fact]
    public async Task Generate_prints_a_new_256_bit_token_and_its_hash()
    {
        var first = await ProcessRunner.RunAsync("dotnet", [McpdDll, "token", "hash", "--generate"]);
        var second = await ProcessRunner.RunAsync("dotnet", [McpdDll, "token", "hash", "--generate"]);

        Assert.True(first.Succeeded, first.ToString());
        var lines = first.StandardOutput.Trim().Split('\n');
        Assert.StartsWith("token:  ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("sha256: ", lines[1], StringComparison.Ordinal);
        var token = lines[0]["token:  ".Length..];
        Assert.Equal(32, Base64Url.DecodeFromChars(token).Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token))), lines[1]["sha256: ".Length..]);
        Assert.NotEqual(first.StandardOutput, second.StandardOutput);
    }

    [Fact]
    public async Task No_token_on_stdin_is_a_usage_error()
    {
        var result = await ProcessRunner.RunAsync("dotnet", [McpdDll, "token", "hash"], standardInput: "\n");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("mcpd token hash: no token on stdin", result.StandardError, StringComparison.Ordinal);
    }
}
