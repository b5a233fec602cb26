using System.Text;
using Mcpd.Server.Security;
using Mcpd.Server.Sessions;

namespace Mcpd.Server.Tests.Sessions;

/// <summary>The proof of a session's owner: what proves it, what does not, and what is kept of it.</summary>
public class SessionOwnerTests
{
    private static readonly ClientIdentity Alice = Certificate("CN=alice, O=Plant 3", "CN=mcpd test CA");

    [Fact]
    public void A_token_owner_is_proven_by_the_same_client_id_and_token_only()
    {
        var owner = SessionOwner.Of(identity: null, "plc-7", "s3cret-token")!;

        Assert.True(owner.IsToken);
        Assert.True(owner.IsProvenBy(identity: null, "plc-7", "s3cret-token"));
        Assert.False(owner.IsProvenBy(identity: null, "plc-7", "s3cret-tokem"));
        Assert.False(owner.IsProvenBy(identity: null, "plc-8", "s3cret-token"));
        Assert.False(owner.IsProvenBy(identity: null, "plc-7", null));
        Assert.False(owner.IsProvenBy(identity: null, null, "s3cret-token"));
        Assert.False(owner.IsProvenBy(Alice, null, null));
        // The client id and the token are hashed apart: "ab" + "c" is not "a" + "bc".
        Assert.False(SessionOwner.Of(identity: null, "ab", "c")!.IsProvenBy(identity: null, "a", "bc"));
    }

    [Fact]
    public void A_token_owner_keeps_a_salted_hash_never_the_token()
    {
        var first = SessionOwner.Of(identity: null, "plc-7", "s3cret-token")!;
        var second = SessionOwner.Of(identity: null, "plc-7", "s3cret-token")!;

        Assert.NotEqual(first.Bytes.ToArray(), second.Bytes.ToArray());
        Assert.Equal(1 + 16 + 32, first.Bytes.Length);
        Assert.Equal(-1, first.Bytes.Span.IndexOf("s3cret-token"u8));
        Assert.Equal(-1, first.Bytes.Span.IndexOf("plc-7"u8));
    }

    [Fact]
    public void A_certificate_owner_is_proven_by_the_same_subject_from_the_same_issuer_only()
    {
        var owner = SessionOwner.Of(Alice, "plc-7", "s3cret-token")!;

        Assert.False(owner.IsToken);
        Assert.Equal(1 + 32, owner.Bytes.Length);
        Assert.True(owner.IsProvenBy(Certificate("CN=alice, O=Plant 3", "CN=mcpd test CA"), null, null));
        Assert.False(owner.IsProvenBy(Certificate("CN=alice, O=Plant 3", "CN=other CA"), null, null));
        Assert.False(owner.IsProvenBy(Certificate("CN=alice, O=Plant 4", "CN=mcpd test CA"), null, null));
        // A certificate was presented: the token the open also carried proves nothing.
        Assert.False(owner.IsProvenBy(identity: null, "plc-7", "s3cret-token"));
        // An identity that is no certificate (a name and a role alone, as mcp.anonymousRole gives) is no certificate principal.
        Assert.False(owner.IsProvenBy(new ClientIdentity("alice", "Operator"), null, null));
        Assert.False(owner.IsProvenBy(ClientIdentity.Anonymous("Operator"), null, null));
    }

    [Fact]
    public void A_session_opened_with_neither_a_certificate_nor_a_token_has_no_owner()
    {
        Assert.Null(SessionOwner.Of(identity: null, "plc-7", token: null));
        Assert.Null(SessionOwner.Of(identity: null, "plc-7", ""));
        Assert.Null(SessionOwner.Of(ClientIdentity.Anonymous("Operator"), "plc-7", token: null));
        Assert.True(SessionOwner.Of(ClientIdentity.Anonymous("Operator"), "plc-7", "s3cret-token")!.IsToken);
    }

    [Theory]
    [InlineData("")]
    [InlineData("c")]
    [InlineData("t0123456789")]
    [InlineData("x00000000000000000000000000000000")]
    public void Stored_bytes_of_another_shape_are_an_owner_nothing_proves(string stored)
    {
        var owner = SessionOwner.FromBytes(Encoding.ASCII.GetBytes(stored));

        Assert.False(owner.IsProvenBy(Alice, "plc-7", "s3cret-token"));
        Assert.False(owner.IsProvenBy(identity: null, "t", "0123456789"));
    }

    [Fact]
    public void An_owner_read_back_from_its_bytes_is_proven_as_before()
    {
        var token = SessionOwner.FromBytes(SessionOwner.Of(identity: null, "plc-7", "s3cret-token")!.Bytes.Span);
        var certificate = SessionOwner.FromBytes(SessionOwner.Of(Alice, "plc-7", token: null)!.Bytes.Span);

        Assert.True(token.IsProvenBy(identity: null, "plc-7", "s3cret-token"));
        Assert.True(certificate.IsProvenBy(Alice, null, null));
    }

    private static ClientIdentity Certificate(string subject, string issuer) =>
        new("alice", "Operator") { Subject = subject, Issuer = issuer };
}
