using Mcpd.Client;
using Mcpd.Server.Sessions;

namespace Mcpd.Server.Configuration;

/// <summary>The meaning of <c>sessions</c> and <c>cluster</c> (part of <see cref="McpdOptionsValidator"/>).</summary>
internal static class SessionsValidation
{
    public static void Check(McpdOptions options, List<string> problems)
    {
        var sessions = options.Sessions;
        if (sessions.Store is not (SessionStoreKinds.Memory or SessionStoreKinds.Redis))
        {
            problems.Add($"sessions:store: '{sessions.Store}' is not \"memory\" or \"redis\"");
        }

        if (sessions.DefaultTtl <= TimeSpan.Zero)
        {
            problems.Add($"sessions:defaultTtl: {sessions.DefaultTtl} must be positive");
        }

        if (sessions.MaxTtl < sessions.DefaultTtl)
        {
            problems.Add($"sessions:maxTtl: {sessions.MaxTtl} is below sessions:defaultTtl ({sessions.DefaultTtl})");
        }

        if (sessions.MaxSessions < 1)
        {
            problems.Add($"sessions:maxSessions: {sessions.MaxSessions} must be at least 1");
        }

        if (sessions.MaxStoreBytes < 1)
        {
            problems.Add($"sessions:maxStoreBytes: {sessions.MaxStoreBytes} must be at least 1");
        }

        if (sessions.MaxValueBytes < 1)
        {
            problems.Add($"sessions:maxValueBytes: {sessions.MaxValueBytes} must be at least 1");
        }

        if (sessions.MaxKeys < 1)
        {
            problems.Add($"sessions:maxKeys: {sessions.MaxKeys} must be at least 1");
        }

        if (sessions.MaxContextBytes < sessions.MaxValueBytes)
        {
            problems.Add($"sessions:maxContextBytes: {sessions.MaxContextBytes} is below sessions:maxValueBytes ({sessions.MaxValueBytes})");
        }

        if (sessions.MaxOpensPerConnection < 1)
        {
            problems.Add($"sessions:maxOpensPerConnection: {sessions.MaxOpensPerConnection} must be at least 1");
        }

        if (sessions.MaxOpensPerAddress < 1)
        {
            problems.Add($"sessions:maxOpensPerAddress: {sessions.MaxOpensPerAddress} must be at least 1");
        }

        if (sessions.OpenInterval <= TimeSpan.Zero)
        {
            problems.Add($"sessions:openInterval: {sessions.OpenInterval} must be positive");
        }

        if (sessions.MaxCallsPerTarget < 1)
        {
            problems.Add($"sessions:maxCallsPerTarget: {sessions.MaxCallsPerTarget} must be at least 1");
        }

        if (sessions.SweepInterval <= TimeSpan.Zero)
        {
            problems.Add($"sessions:sweepInterval: {sessions.SweepInterval} must be positive");
        }

        if (sessions.OnClientIdInUse is not (ClientIdInUse.Takeover or ClientIdInUse.Refuse))
        {
            problems.Add($"sessions:onClientIdInUse: '{sessions.OnClientIdInUse}' is not \"takeover\" or \"refuse\"");
        }

        foreach (var (clientId, token) in sessions.Tokens.Where(t => t.Value.Length == 0))
        {
            problems.Add($"sessions:tokens:{clientId}: the token is empty");
        }

        if (sessions.Redis.MaxSessions < 0)
        {
            problems.Add($"sessions:redis:maxSessions: {sessions.Redis.MaxSessions} must be 0 (no quota) or more");
        }

        if (sessions.Store == SessionStoreKinds.Redis)
        {
            RedisSessionStore.Check(sessions.Redis, "sessions:redis", problems);
        }

        var cluster = options.Cluster;
        if (cluster.NodeId is { } nodeId && (nodeId.Length == 0 || nodeId.Contains('@', StringComparison.Ordinal)))
        {
            problems.Add($"cluster:nodeId: '{nodeId}' must be non-empty and without '@'");
        }

        if (cluster.Advertise is { } advertise && !HostPort.TryParse(advertise, out _))
        {
            problems.Add($"cluster:advertise: '{advertise}' is not host:port");
        }

        if (cluster.HeartbeatInterval <= TimeSpan.Zero)
        {
            problems.Add($"cluster:heartbeatInterval: {cluster.HeartbeatInterval} must be positive");
        }

        if (cluster.PeerConnections is < 1 or > 64)
        {
            problems.Add($"cluster:peerConnections: {cluster.PeerConnections} is outside 1..64");
        }
    }
}
