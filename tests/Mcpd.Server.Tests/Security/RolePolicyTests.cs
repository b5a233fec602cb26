using Mcpd.Server.Devices;
using Mcpd.Server.Security;

namespace Mcpd.Server.Tests.Security;

/// <summary>Role rules: first match allows, nothing else does; ranges must hold a request whole; PDUs decided by what they touch.</summary>
public class RolePolicyTests
{
    private static readonly RolePolicy Policy = RolePolicy.From(new SecurityOptions
    {
        Roles =
        {
            ["Viewer"] = [new AccessRuleOptions { Access = AccessKind.Read }],
            ["Operator"] =
            [
                new AccessRuleOptions { Access = AccessKind.Read },
                new AccessRuleOptions { Access = AccessKind.Write, Units = "1", Tables = [RegisterTable.Holding, RegisterTable.Coils], Addresses = "0-49, 50-99" },
            ],
            ["Engineer"] = [new AccessRuleOptions { Access = AccessKind.Write }, new AccessRuleOptions { Methods = ["sys.*", "modbus.pdu"] }],
        },
    });

    [Theory]
    [InlineData("Viewer", "0300000001", true)]            // FC03 read
    [InlineData("Viewer", "0600000001", false)]           // FC06 write
    [InlineData("Viewer", "2B0E0100", true)]              // read device identification counts as a read
    [InlineData("Operator", "0600630001", true)]          // write holding 99
    [InlineData("Operator", "0600640001", false)]         // write holding 100: outside 0-99
    [InlineData("Operator", "100060000A0400000000000000000000", false)] // FC16 96..105 crosses 99
    [InlineData("Operator", "10003A000A14", true)]        // FC16 58..67 spans the two merged ranges
    [InlineData("Operator", "0500000000", true)]          // write coil 0
    [InlineData("Operator", "1500", false)]               // FC21 write file record: unnamed change needs an unnarrowed write rule
    [InlineData("Operator", "17000000010000000102AAAA", true)] // FC23 read 0, write 0
    [InlineData("Engineer", "1500", true)]
    [InlineData("Engineer", "0300000001", false)]         // write rules do not read
    [InlineData("Nobody", "0300000001", false)]
    [InlineData(null, "0300000001", false)]
    public void A_request_is_allowed_only_by_a_rule_that_covers_all_it_touches(string? role, string pduHex, bool allowed) =>
        Assert.Equal(allowed, ModbusRequestAccess.IsAllowed(Policy, role, 1, Convert.FromHexString(pduHex)));

    [Fact]
    public void Units_narrow_a_rule()
    {
        Assert.True(ModbusRequestAccess.IsAllowed(Policy, "Operator", 1, Convert.FromHexString("0600000001")));
        Assert.False(ModbusRequestAccess.IsAllowed(Policy, "Operator", 2, Convert.FromHexString("0600000001")));
    }

    [Fact]
    public void Methods_match_names_and_stars()
    {
        Assert.True(Policy.AllowsMethod("Engineer", "sys.info"));
        Assert.True(Policy.AllowsMethod("engineer", "modbus.pdu"));
        Assert.False(Policy.AllowsMethod("Engineer", "session.open"));
        Assert.False(Policy.AllowsMethod("Operator", "sys.info"));
    }

    [Fact]
    public void Broken_rules_are_named_with_their_key_path()
    {
        var problems = RolePolicy.Problems(new SecurityOptions
        {
            Roles =
            {
                ["A"] = [new AccessRuleOptions(), new AccessRuleOptions { Access = AccessKind.Read, Addresses = "10-5" }],
                ["B"] = [new AccessRuleOptions { Access = AccessKind.Read, Methods = ["sys.*"] }, new AccessRuleOptions { Access = AccessKind.Write, Units = "300" }],
            },
        }).ToList();

        Assert.Equal(
        [
            "security:roles:A:0: access: read or write is missing (or name methods)",
            "security:roles:A:1: addresses: '10-5' is not a range within 0..65535",
            "security:roles:B:0: a rule names either methods (MCP methods it allows) or access with units, tables and addresses (registers), not both",
            "security:roles:B:1: units: '300' is not a range within 0..255",
        ], problems);
    }
}
