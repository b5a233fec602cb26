using Mcpd.Server.Connections;

namespace Mcpd.Server.Tests.Connections;

/// <summary>Objects given back on another thread than the one that took them are still reused, within the bounds.</summary>
public sealed class ReusePoolTests
{
    [Fact]
    public void Objects_given_back_on_another_thread_reach_a_thread_that_has_none()
    {
        var given = Enumerable.Range(0, ReusePool<Marker>.PerThread + 10).Select(_ => new Marker()).ToArray();
        // The giving thread keeps PerThread for itself; the rest go to the shared list.
        OnThread(() =>
        {
            foreach (var item in given)
            {
                ReusePool<Marker>.Give(item);
            }
        });

        var taken = new List<Marker>();
        OnThread(() =>
        {
            while (ReusePool<Marker>.TryTake() is { } item)
            {
                taken.Add(item);
            }
        });

        Assert.Equal(10, taken.Count);
        Assert.All(taken, item => Assert.Contains(item, given));
    }

    [Fact]
    public void The_shared_list_is_bounded()
    {
        OnThread(() =>
        {
            for (var i = 0; i < ReusePool<Bounded>.PerThread + ReusePool<Bounded>.Shared + 100; i++)
            {
                ReusePool<Bounded>.Give(new Bounded());
            }
        });

        var taken = 0;
        OnThread(() =>
        {
            while (ReusePool<Bounded>.TryTake() is not null)
            {
                taken++;
            }
        });

        Assert.Equal(ReusePool<Bounded>.Shared, taken);
    }

    private static void OnThread(Action action)
    {
        var thread = new Thread(() => action()) { IsBackground = true };
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(10)));
    }

    /// <summary>Types of their own: no other test shares these pools.</summary>
    private sealed class Marker;

    private sealed class Bounded;
}
