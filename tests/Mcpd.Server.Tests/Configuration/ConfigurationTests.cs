using Mcpd.Cli;
using Mcpd.Server.Configuration;
using Mcpd.Server.Devices;
using Microsoft.Extensions.Configuration;

namespace Mcpd.Server.Tests.Configuration;

/// <summary>Layering, binding and validation of the configuration, with the key paths a user reads.</summary>
[Collection(ProcessEnvironmentTests.Name)]
public class ConfigurationTests
{
    internal static readonly string ExampleFile = Path.Combine(RepositoryRoot(), "docs", "mcpd.example.yaml");

    [Fact]
    public void The_documented_example_is_valid_and_binds_every_section()
    {
        var configuration = McpdConfiguration.Build(ExampleFile, new Dictionary<string, string?>(), includeEnvironment: false);

        Assert.Empty(McpdConfiguration.Check(configuration));
        var options = Bind(configuration);
        Assert.Equal(502, options.Modbus.Port);
        Assert.Equal(2, options.Devices.Count);
        Assert.Equal("building 7, floor 2", options.Devices[0].Identification.Private["0x80"]);
        Assert.Equal(RegisterTable.Coils, options.Devices[0].Registers[^1].Table);
    }

    [Fact]
    public void The_configuration_reference_shows_the_example_file_verbatim()
    {
        var reference = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "configuration.md"));
        var start = reference.IndexOf("```yaml\n", StringComparison.Ordinal) + "```yaml\n".Length;
        var end = reference.IndexOf("```", start, StringComparison.Ordinal);

        Assert.Equal(File.ReadAllText(ExampleFile), reference[start..end]);
    }

    [Fact]
    public void A_file_read_again_shares_with_the_running_configuration_every_node_it_still_says_the_same_and_equal_values_share_one_node()
    {
        var directory = Directory.CreateTempSubdirectory("mcpd-shared-").FullName;
        try
        {
            var file = Path.Combine(directory, "mcpd.yaml");
            var text = File.ReadAllText(ExampleFile);
            File.WriteAllText(file, text);
            using var gate = new ReloadGate(McpdConfiguration.Build(file, new Dictionary<string, string?>(), includeEnvironment: false));
            var running = ConfigurationTree.Of(gate.Configuration);
            File.WriteAllText(file, text.Replace("        value: 85\n", "        value: 86\n", StringComparison.Ordinal));

            var shared = ConfigurationTree.Of(McpdConfiguration.Build(file, new Dictionary<string, string?>(), includeEnvironment: false, running: gate.Configuration));

            // The same keys and values as the file read on its own; only the changed value and the sections over it are new.
            var alone = ConfigurationTree.Of(McpdConfiguration.Build(file, new Dictionary<string, string?>(), includeEnvironment: false));
            Assert.Equal(alone.Pairs, shared.Pairs);
            Assert.Equal("86", shared.ValueAt("devices:0:registers:1:value"));
            Assert.Same(running.Root.FindPath("modbus"), shared.Root.FindPath("modbus"));
            Assert.Same(running.Root.FindPath("devices:1"), shared.Root.FindPath("devices:1"));
            Assert.Same(running.Root.FindPath("devices:0:registers:0"), shared.Root.FindPath("devices:0:registers:0"));
            Assert.Same(running.Root.FindPath("devices:0:registers:1:name"), shared.Root.FindPath("devices:0:registers:1:name"));
            Assert.NotSame(running.Root.FindPath("devices:0:registers:1"), shared.Root.FindPath("devices:0:registers:1"));
            Assert.Equal("85", running.ValueAt("devices:0:registers:1:value"));
            // Within one file, entries that say the same of a key share its node.
            Assert.Same(alone.Root.FindPath("devices:0:registers:0:table"), alone.Root.FindPath("devices:0:registers:1:table"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void The_example_map_writes_typed_initial_values_into_registers()
    {
        var device = new SimulatedDevice(Bind(McpdConfiguration.Build(ExampleFile, new Dictionary<string, string?>(), includeEnvironment: false)).Devices[0]);
        var holding = new ushort[3];
        var input = new ushort[14];
        var coil = new bool[1];

        device.Bank.ReadRegisters(RegisterTable.Holding, 0, holding);
        device.Bank.ReadRegisters(RegisterTable.Input, 0, input);
        device.Bank.ReadBits(RegisterTable.Coils, 0, coil);

        Assert.Equal([100, 85, 723], holding);
        Assert.Equal([0x0001, 0xE240], input[..2]); // 123456, high word first
        Assert.Equal([0x0000, 0x3FC0], input[2..4]); // 1.5f = 0x3FC00000, low word first
        Assert.Equal("SN-0042", System.Text.Encoding.ASCII.GetString([.. input[10..14].SelectMany(r => new[] { (byte)(r >> 8), (byte)r })]).TrimEnd('\0'));
        Assert.True(coil[0]);
        Assert.Equal(72.3, (double)device.Map.Find(RegisterTable.Holding, 2)!.Decode(holding.AsSpan(2)), 6);
    }

    [Fact]
    public void Environment_overrides_the_file_and_the_command_line_overrides_both()
    {
        Environment.SetEnvironmentVariable("MCPD__MODBUS__PORT", "1502");
        Environment.SetEnvironmentVariable("MCPD__MODBUS__BIND", "127.0.0.1");
        try
        {
            var configuration = McpdConfiguration.Build(ExampleFile, new Dictionary<string, string?> { ["modbus:port"] = "2502" });

            var options = Bind(configuration);
            Assert.Equal(2502, options.Modbus.Port);
            Assert.Equal("127.0.0.1", options.Modbus.Bind);
            Assert.Equal(10000, options.Modbus.MaxConnections);
        }
        finally
        {
            Environment.SetEnvironmentVariable("MCPD__MODBUS__PORT", null);
            Environment.SetEnvironmentVariable("MCPD__MODBUS__BIND", null);
        }
    }

    [Fact]
    public void No_configuration_serves_the_built_in_seed_device()
    {
        var options = Bind(new ConfigurationBuilder().Build());

        var device = Assert.Single(options.EffectiveDevices);
        Assert.Equal(1, device.Unit);
        Assert.Equal(502, options.Modbus.Port);
        Assert.Equal(["temperature sensor", "humidity percent"], device.Registers.Select(r => r.Description));
    }

    [Fact]
    public void Every_problem_is_reported_at_once_with_its_key_path()
    {
        var problems = McpdOptionsValidator.CheckConfiguration(Memory(new()
        {
            ["modbus:prot"] = "502",
            ["modbus:port"] = "abc",
            ["modbus:connectionLimitPolicy"] = "Sometimes",
            ["modbus:idleTimeout"] = "soon",
            ["modbus:maxInFlightPerConnection"] = "0",
            ["modbus:bind"] = "not-an-address",
            ["devices:0:unit"] = "0",
            ["devices:0:registers:0:address"] = "20000",
            ["devices:1:unit"] = "3",
            ["devices:1:holdingRegisters"] = "10",
            ["devices:1:registers:0:type"] = "uint32",
            ["devices:1:registers:0:value"] = "-5",
            ["devices:1:registers:1:address"] = "1",
            ["devices:1:registers:2:address"] = "5",
            ["devices:1:registers:2:type"] = "string",
            ["devices:1:registers:2:length"] = "2",
            ["devices:1:registers:2:value"] = "toolongvalue",
            ["devices:1:identification:private:0x10"] = "nope",
            ["devices:1:identification:productName"] = new string('x', 245),
            ["devices:2:unit"] = "3",
        }));

        string[] expected =
        [
            "modbus:prot: unknown setting",
            "modbus:port: 'abc' is not a whole number",
            "modbus:connectionLimitPolicy: 'Sometimes' is not one of closeOldestIdle, refuse",
            "modbus:idleTimeout: 'soon' is not a duration",
            "modbus:maxInFlightPerConnection: 0 is outside 1..65535",
            "modbus:bind: 'not-an-address' is not",
            "devices:0:unit: 0 is outside 1..247",
            "devices:0:registers:0:address: 20000 (+1) is outside the Holding table of 10000 addresses",
            "devices:1:registers:0:value: -5 is not a whole number in 0..4294967295",
            "devices:1:registers:1:address: Holding address 1 is already used by registers:0",
            "devices:1:registers:2:value: \"toolongvalue\" needs more than 2 registers",
            "devices:1:identification:private:0x10: '0x10' is not a private object id (0x80..0xFF)",
            "devices:1:identification:productName: longer than 244 bytes",
            "devices:2:unit: unit 3 is configured twice",
        ];
        foreach (var line in expected)
        {
            Assert.Contains(problems, p => p.StartsWith(line, StringComparison.Ordinal));
        }

        Assert.Equal(expected.Length, problems.Count);
    }

    [Theory]
    [InlineData("modbus:port", "70000", "modbus:port: 70000 is outside 0..65535")]
    [InlineData("devices:0:coils", "65537", "devices:0:coils: 65537 is outside 0..65536")]
    [InlineData("devices:0:registers:0:scale", "0", "devices:0:registers:0:scale: 0 must be a finite number other than 0")]
    [InlineData("devices:0:registers:0:value", "twelve", "devices:0:registers:0:value: 'twelve' is not a number.")]
    [InlineData("devices:0:identification:vendorName", "", "devices:0:identification:vendorName: is mandatory")]
    [InlineData("devices:0:registers", "5", "devices:0:registers: expected a list of entries, got the value '5'")]
    [InlineData("modbus:idleTimeout", "-00:00:01", "modbus:idleTimeout: -00:00:01 must not be negative")]
    [InlineData("transport:applicationScheduling", "Sometimes", "transport:applicationScheduling: 'Sometimes' is not one of inline, threadPool")]
    [InlineData("sessions:maxContextBytes", "1000", "sessions:maxContextBytes: 1000 is below sessions:maxValueBytes (65536)")]
    [InlineData("sessions:maxKeys", "0", "sessions:maxKeys: 0 must be at least 1")]
    [InlineData("mcp:maxConnectionsPerAddress", "-1", "mcp:maxConnectionsPerAddress: -1 must not be negative (0: no limit)")]
    public void Single_problem_names_its_key(string key, string value, string expected)
    {
        var problems = McpdOptionsValidator.CheckConfiguration(Memory(new() { [key] = value }));

        Assert.Contains(problems, p => p.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Values_convert_as_their_type_converters_read_them_hex_numbers_and_enum_names_in_any_case_included()
    {
        var (options, problems) = ConfigurationTree.Of(Memory(new()
        {
            ["devices:0:unit"] = "1",
            ["devices:0:registers:0:address"] = "0x10",
            ["devices:0:registers:0:table"] = "COILS",
            ["devices:0:registers:0:readOnly"] = " True ",
            ["devices:0:registers:0:scale"] = "1e-1",
            ["devices:0:registers:1:address"] = "+17",
        })).Bound;

        Assert.Empty(problems);
        var registers = options.Devices[0].Registers;
        Assert.Equal((16, RegisterTable.Coils, true, 0.1), (registers[0].Address, registers[0].Table, registers[0].ReadOnly, registers[0].Scale));
        Assert.Equal(17, registers[1].Address);
    }

    [Fact]
    public void Logging_section_is_left_to_the_logging_library()
    {
        var problems = McpdConfiguration.Check(Memory(new() { ["logging:logLevel:Default"] = "Debug" }));

        Assert.Empty(problems);
    }

    private static McpdOptions Bind(IConfiguration configuration)
    {
        var options = new McpdOptions();
        configuration.Bind(options);
        return options;
    }

    private static IConfigurationRoot Memory(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "mcpd.slnx")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("mcpd.slnx not found above the test directory.");
    }
}

/// <summary>Tests that set MCPD__ environment variables run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessEnvironmentTests
{
    public const string Name = "process environment";
}
