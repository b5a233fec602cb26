using System.Globalization;
using System.Net;
using System.Text;
using Mcpd.Protocols.Modbus;
using Mcpd.Server.Devices;
using Mcpd.Server.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Mcpd.Server.Configuration;

/// <summary>
/// Checks the meaning of the whole configuration and reports every problem at once, each with the key path a user
/// would write in mcpd.yaml (for example <c>devices:0:registers:2:address</c>).
/// </summary>
public sealed class McpdOptionsValidator : IValidateOptions<McpdOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, McpdOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = ConfigurationTree.MeaningProblemsOf(options) ?? Check(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>
    /// Every problem of a configuration: unknown keys and unconvertible values first (the <c>logging</c> section is
    /// not mcpd's), then the meaning of everything that did convert.
    /// </summary>
    public static IReadOnlyList<string> CheckConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return CheckConfiguration(ConfigurationTree.Of(configuration));
    }

    /// <summary>What <see cref="CheckConfiguration(IConfiguration)"/> says of a configuration already read.</summary>
    internal static IReadOnlyList<string> CheckConfiguration(ConfigurationTree configuration)
    {
        // A key that does not convert is left at its default, so its neighbours are still checked.
        return [.. configuration.Bound.Problems, .. configuration.MeaningProblems];
    }

    /// <summary>Every problem of <paramref name="options"/>, as "key:path: what is wrong".</summary>
    public static IReadOnlyList<string> Check(McpdOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        CheckModbus(options, problems);
        CheckMcp(options, problems);
        AdminValidation.Check(options, problems);
        AgentValidation.Check(options, problems);
        UpstreamValidation.Check(options, problems);
        RoutingValidation.Check(options, problems);
        SessionsValidation.Check(options, problems);
        TelemetryValidation.Check(options, problems);
        PersistenceValidation.Check(options, problems);
        SecurityValidation.Check(options, problems);
        var units = new HashSet<int>();
        for (var i = 0; i < options.Devices.Count; i++)
        {
            var device = options.Devices[i];
            var path = $"devices:{i}";
            if (device.Unit is < 1 or > 247)
            {
                problems.Add($"{path}:unit: {device.Unit} is outside 1..247 (0 and 255 address the device directly on TCP and are not unit ids of their own)");
            }
            else if (!units.Add(device.Unit))
            {
                problems.Add($"{path}:unit: unit {device.Unit} is configured twice");
            }

            CheckDevice(device, path, problems);
        }

        return problems;
    }

    private static void CheckModbus(McpdOptions options, List<string> problems)
    {
        var modbus = options.Modbus;
        if (modbus.Port is < 0 or > 65535)
        {
            problems.Add($"modbus:port: {modbus.Port} is outside 0..65535");
        }

        if (!TryParseBind(modbus.Bind, out _))
        {
            problems.Add($"modbus:bind: '{modbus.Bind}' is not \"*\", \"localhost\" or an IP address");
        }

        if (modbus.MaxConnections < 1)
        {
            problems.Add($"modbus:maxConnections: {modbus.MaxConnections} must be at least 1");
        }

        if (modbus.MaxConnectionsPerAddress < 0)
        {
            problems.Add($"modbus:maxConnectionsPerAddress: {modbus.MaxConnectionsPerAddress} must not be negative (0: no limit)");
        }

        if (modbus.ProtectAfterRequest < TimeSpan.Zero)
        {
            problems.Add($"modbus:protectAfterRequest: {modbus.ProtectAfterRequest} must not be negative (0 protects nobody)");
        }

        if (modbus.IdleTimeout < TimeSpan.Zero)
        {
            problems.Add($"modbus:idleTimeout: {modbus.IdleTimeout} must not be negative (0 disables it)");
        }

        if (options.Transport.Kind == TransportKind.Epoll && !EpollTransport.IsSupported)
        {
            problems.Add("transport:kind: Epoll needs Linux on x86-64; use Auto or Sockets here");
        }

        if (!Enum.IsDefined(options.Transport.ApplicationScheduling))
        {
            problems.Add($"transport:applicationScheduling: {options.Transport.ApplicationScheduling} is not Inline or ThreadPool");
        }

        if (options.Transport.IoThreads is < 0 or > 256)
        {
            problems.Add($"transport:ioThreads: {options.Transport.IoThreads} is outside 0..256 (0 = one per two processors)");
        }

        if (modbus.MaxInFlightPerConnection is < 1 or > 65535)
        {
            problems.Add($"modbus:maxInFlightPerConnection: {modbus.MaxInFlightPerConnection} is outside 1..65535");
        }
    }

    private static void CheckMcp(McpdOptions options, List<string> problems)
    {
        var mcp = options.Mcp;
        if (mcp.Port is < 0 or > 65535)
        {
            problems.Add($"mcp:port: {mcp.Port} is outside 0..65535");
        }

        if (mcp.CrcPort is < 0 or > 65535)
        {
            problems.Add($"mcp:crcPort: {mcp.CrcPort} is outside 0..65535");
        }
        else if (mcp.CrcPort is > 0 && mcp.CrcPort == mcp.Port)
        {
            problems.Add($"mcp:crcPort: {mcp.CrcPort} is also mcp:port; the CRC listener needs its own port");
        }

        if (!TryParseBind(mcp.Bind, out _))
        {
            problems.Add($"mcp:bind: '{mcp.Bind}' is not \"*\", \"localhost\" or an IP address");
        }

        if (mcp.MaxPayloadLength is < 16 or > 64 * 1024 * 1024)
        {
            problems.Add($"mcp:maxPayloadLength: {mcp.MaxPayloadLength} is outside 16..67108864 bytes");
        }

        if (mcp.MaxIncompleteFrameBytes < mcp.MaxInputBuffer)
        {
            problems.Add($"mcp:maxIncompleteFrameBytes: {mcp.MaxIncompleteFrameBytes} must be at least {mcp.MaxInputBuffer} (the largest frame, mcp:maxPayloadLength + 16, or 1 MiB), or a frame at the limit could never arrive");
        }

        if (mcp.MaxRunningRequestBytes < mcp.MaxPayloadLength)
        {
            problems.Add($"mcp:maxRunningRequestBytes: {mcp.MaxRunningRequestBytes} must be at least mcp:maxPayloadLength ({mcp.MaxPayloadLength}), or a request at the limit could never run");
        }

        if (mcp.CrcFrameTimeout < TimeSpan.Zero)
        {
            problems.Add($"mcp:crcFrameTimeout: {mcp.CrcFrameTimeout} must not be negative (0 disables it)");
        }

        if (mcp.MaxCrcNoiseBytes < 1)
        {
            problems.Add($"mcp:maxCrcNoiseBytes: {mcp.MaxCrcNoiseBytes} must be at least 1");
        }

        if (mcp.MaxInFlightPerConnection is < 1 or > 65535)
        {
            problems.Add($"mcp:maxInFlightPerConnection: {mcp.MaxInFlightPerConnection} is outside 1..65535");
        }

        if (mcp.HeartbeatInterval <= TimeSpan.Zero)
        {
            problems.Add($"mcp:heartbeatInterval: {mcp.HeartbeatInterval} must be positive");
        }

        if (mcp.CallTimeout <= TimeSpan.Zero)
        {
            problems.Add($"mcp:callTimeout: {mcp.CallTimeout} must be positive");
        }

        if (mcp.MaxConnections < 1)
        {
            problems.Add($"mcp:maxConnections: {mcp.MaxConnections} must be at least 1");
        }

        if (mcp.MaxConnectionsPerAddress < 0)
        {
            problems.Add($"mcp:maxConnectionsPerAddress: {mcp.MaxConnectionsPerAddress} must not be negative (0: no limit)");
        }

        if (mcp.ProtectAfterRequest < TimeSpan.Zero)
        {
            problems.Add($"mcp:protectAfterRequest: {mcp.ProtectAfterRequest} must not be negative (0 protects nobody)");
        }
    }

    private static void CheckDevice(DeviceOptions device, string path, List<string> problems)
    {
        CheckTableSize(device.Coils, $"{path}:coils", problems);
        CheckTableSize(device.DiscreteInputs, $"{path}:discreteInputs", problems);
        CheckTableSize(device.HoldingRegisters, $"{path}:holdingRegisters", problems);
        CheckTableSize(device.InputRegisters, $"{path}:inputRegisters", problems);
        CheckIdentification(device.Identification, $"{path}:identification", problems);

        var sizes = new Dictionary<RegisterTable, int>
        {
            [RegisterTable.Coils] = device.Coils,
            [RegisterTable.Discrete] = device.DiscreteInputs,
            [RegisterTable.Holding] = device.HoldingRegisters,
            [RegisterTable.Input] = device.InputRegisters,
        };
        var owners = new Dictionary<(RegisterTable, int), int>();
        for (var r = 0; r < device.Registers.Count; r++)
        {
            var register = device.Registers[r];
            var registerPath = $"{path}:registers:{r}";
            var definition = RegisterDefinition.From(register);
            if (!RegisterDefinition.IsBitTable(register.Table) && register.Type == RegisterDataType.String && register.Length is < 1 or > ModbusLimits.MaxReadRegisters)
            {
                problems.Add($"{registerPath}:length: {register.Length} is outside 1..{ModbusLimits.MaxReadRegisters} registers");
                continue;
            }

            if (register.Scale == 0 || !double.IsFinite(register.Scale))
            {
                problems.Add($"{registerPath}:scale: {register.Scale} must be a finite number other than 0");
                continue;
            }

            if (register.Address < 0 || register.Address + definition.Count > sizes[register.Table])
            {
                problems.Add($"{registerPath}:address: {register.Address} (+{definition.Count}) is outside the {register.Table} table of {sizes[register.Table]} addresses");
                continue;
            }

            for (var a = register.Address; a < register.Address + definition.Count; a++)
            {
                if (!owners.TryAdd((register.Table, a), r))
                {
                    problems.Add($"{registerPath}:address: {register.Table} address {a} is already used by registers:{owners[(register.Table, a)]}");
                    break;
                }
            }

            if (register.Value is not null)
            {
                CheckValue(definition, register.Value, registerPath, problems);
            }

            if (register.ReadOnly && !IsWritable(register.Table))
            {
                problems.Add($"{registerPath}:readOnly: {register.Table} is never writable over Modbus; readOnly applies to coils and holding registers");
            }

            if (register.Generator is not null)
            {
                CheckGenerator(register, definition, registerPath, problems);
            }
        }

        CheckReadOnly(device, sizes, path, problems);
    }

    private static bool IsWritable(RegisterTable table) => table is RegisterTable.Coils or RegisterTable.Holding;

    private static void CheckReadOnly(DeviceOptions device, Dictionary<RegisterTable, int> sizes, string path, List<string> problems)
    {
        if (device.ReadOnlyException is not (ModbusExceptionCode.IllegalFunction or ModbusExceptionCode.IllegalDataAddress
            or ModbusExceptionCode.IllegalDataValue or ModbusExceptionCode.ServerDeviceFailure))
        {
            problems.Add($"{path}:readOnlyException: {device.ReadOnlyException} is not one of IllegalFunction, IllegalDataAddress, IllegalDataValue, ServerDeviceFailure (01..04)");
        }

        if (device.UpdateInterval < TimeSpan.FromMilliseconds(1))
        {
            problems.Add($"{path}:updateInterval: {device.UpdateInterval} must be at least 00:00:00.001");
        }

        for (var i = 0; i < device.ReadOnly.Count; i++)
        {
            var range = device.ReadOnly[i];
            var rangePath = $"{path}:readOnly:{i}";
            if (!IsWritable(range.Table))
            {
                problems.Add($"{rangePath}:table: {range.Table} is never writable over Modbus; readOnly applies to coils and holding registers");
            }
            else if (range.Count < 1)
            {
                problems.Add($"{rangePath}:count: {range.Count} must be at least 1");
            }
            else if (range.Address < 0 || (long)range.Address + range.Count > sizes[range.Table])
            {
                problems.Add($"{rangePath}:address: {range.Address} (+{range.Count}) is outside the {range.Table} table of {sizes[range.Table]} addresses");
            }
        }
    }

    private static void CheckGenerator(RegisterOptions register, RegisterDefinition definition, string registerPath, List<string> problems)
    {
        var generator = register.Generator!;
        var path = $"{registerPath}:generator";
        if (generator.Kind is not { } kind)
        {
            problems.Add($"{path}:kind: missing; one of {string.Join(", ", Enum.GetNames<GeneratorKind>())}");
            return;
        }

        if (RegisterDefinition.IsBitTable(register.Table))
        {
            if (kind is not (GeneratorKind.Constant or GeneratorKind.Toggle))
            {
                problems.Add($"{path}:kind: {kind} needs a number; a {register.Table} bit takes Constant or Toggle");
            }
        }
        else if (register.Type == RegisterDataType.String)
        {
            problems.Add($"{path}: a string register cannot be generated; generators need uint16, int16, uint32, int32 or float32");
            return;
        }

        if (generator.Period <= TimeSpan.Zero)
        {
            problems.Add($"{path}:period: {generator.Period} must be positive");
        }

        if (kind is GeneratorKind.Counter or GeneratorKind.RandomWalk && !(generator.Step > 0 && double.IsFinite(generator.Step)))
        {
            problems.Add($"{path}:step: {generator.Step} must be a positive number");
        }

        if (RegisterDefinition.IsBitTable(register.Table) || kind == GeneratorKind.Constant)
        {
            return; // min and max play no part: bits run between off and on, a constant holds its value.
        }

        if (!double.IsFinite(generator.Min) || !double.IsFinite(generator.Max) || generator.Min > generator.Max)
        {
            problems.Add($"{path}:min: {generator.Min} is greater than max {generator.Max} (or not a finite number)");
            return;
        }

        Span<ushort> registers = stackalloc ushort[definition.Count];
        foreach (var (key, bound) in new[] { ("min", generator.Min), ("max", generator.Max) })
        {
            try
            {
                definition.EncodeNearest(bound, registers);
            }
            catch (OverflowException ex)
            {
                problems.Add($"{path}:{key}: {bound} does not fit the register's {register.Type} at scale {register.Scale}: {ex.Message}");
            }
        }

        if (kind is GeneratorKind.Counter or GeneratorKind.RandomWalk && register.Value is not null
            && double.TryParse(register.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var start)
            && (start < generator.Min || start > generator.Max))
        {
            problems.Add($"{registerPath}:value: {register.Value} is outside the generator's min..max ({generator.Min}..{generator.Max}), where the {kind} starts");
        }
    }

    /// <summary>Checks the initial value of the entry at <paramref name="registerPath"/> (its path made only for a problem: a map has 65,536).</summary>
    private static void CheckValue(RegisterDefinition definition, string value, string registerPath, List<string> problems)
    {
        try
        {
            if (RegisterDefinition.IsBitTable(definition.Table))
            {
                RegisterDefinition.ParseBit(value);
            }
            else
            {
                definition.Encode(value, stackalloc ushort[definition.Count]);
            }
        }
        catch (Exception ex) when (ex is FormatException or OverflowException)
        {
            problems.Add($"{registerPath}:value: {ex.Message}");
        }
    }

    private static void CheckTableSize(int size, string path, List<string> problems)
    {
        if (size is < 0 or > ModbusLimits.AddressSpace)
        {
            problems.Add($"{path}: {size} is outside 0..{ModbusLimits.AddressSpace}");
        }
    }

    private static void CheckIdentification(DeviceIdentificationOptions identification, string path, List<string> problems)
    {
        (string Key, string? Value)[] standard =
        [
            ("vendorName", identification.VendorName), ("productCode", identification.ProductCode),
            ("majorMinorRevision", identification.MajorMinorRevision), ("vendorUrl", identification.VendorUrl),
            ("productName", identification.ProductName), ("modelName", identification.ModelName),
            ("userApplicationName", identification.UserApplicationName),
        ];
        for (var id = 0; id < standard.Length; id++)
        {
            var (key, value) = standard[id];
            if (id <= DeviceIdentificationObjects.MajorMinorRevision && string.IsNullOrEmpty(value))
            {
                problems.Add($"{path}:{key}: is mandatory (Modbus Application Protocol 6.21, basic objects)");
            }

            CheckObjectLength(value, $"{path}:{key}", problems);
        }

        foreach (var (key, value) in identification.Private)
        {
            try
            {
                SimulatedDevice.ParsePrivateObjectId(key);
            }
            catch (FormatException ex)
            {
                problems.Add($"{path}:private:{key}: {ex.Message}");
            }

            CheckObjectLength(value, $"{path}:private:{key}", problems);
        }
    }

    private static void CheckObjectLength(string? value, string path, List<string> problems)
    {
        if (value is not null && Encoding.UTF8.GetByteCount(value) > DeviceIdentificationObjects.MaxObjectLength)
        {
            problems.Add($"{path}: longer than {DeviceIdentificationObjects.MaxObjectLength} bytes, so it cannot fit one response (6.21: an object is never split)");
        }
    }

    /// <summary>Parses a bind address: "*" (any), "localhost" (loopback) or an IP address; "*" yields null.</summary>
    public static bool TryParseBind(string bind, out IPAddress? address)
    {
        address = null;
        if (bind == "*")
        {
            return true;
        }

        if (string.Equals(bind, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
            return true;
        }

        return IPAddress.TryParse(bind, out address);
    }
}
