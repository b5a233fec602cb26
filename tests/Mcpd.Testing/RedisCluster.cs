using System.Diagnostics;

namespace Mcpd.Testing;

/// <summary>
/// A real Redis Cluster of three masters (no replicas) on loopback: three <see cref="RedisServer"/>s started with
/// <c>--cluster-enabled yes</c>, joined by <c>redis-cli --cluster create</c>; ready once every slot is served.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly List<RedisServer> _masters = [];

    private RedisCluster()
    {
    }

    public IReadOnlyList<RedisServer> Masters => _masters;

    /// <summary>Every master, as a StackExchange.Redis connection string lists them.</summary>
    public string ConnectionString => string.Join(",", _masters.Select(m => m.ConnectionString));

    public static async Task<RedisCluster> StartAsync()
    {
        var cluster = new RedisCluster();
        try
        {
            var directory = Directory.CreateTempSubdirectory("mcpd-redis-cluster-").FullName;
            for (var i = 0; i < 3; i++)
            {
                // A nodes file of its own, in a fresh directory: a stale one would make the node rejoin an old cluster.
                cluster._masters.Add(await RedisServer.StartAsync("--cluster-enabled", "yes", "--cluster-config-file", Path.Combine(directory, "nodes-{port}.conf")));
            }

            var create = await ProcessRunner.RunAsync(RedisServer.Cli, ["--cluster", "create", .. cluster._masters.Select(m => m.ConnectionString), "--cluster-replicas", "0", "--cluster-yes"]);
            if (!create.Succeeded)
            {
                throw new InvalidOperationException(create.ToString());
            }

            var deadline = Stopwatch.StartNew();
            foreach (var master in cluster._masters)
            {
                while (!(await master.CliAsync("CLUSTER", "INFO")).Contains("cluster_state:ok", StringComparison.Ordinal))
                {
                    if (deadline.Elapsed > ReadyTimeout)
                    {
                        throw new TimeoutException($"The Redis Cluster did not serve every slot within {ReadyTimeout}.");
                    }

                    await Task.Delay(100);
                }
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var master in _masters)
        {
            await master.DisposeAsync();
        }
    }
}
