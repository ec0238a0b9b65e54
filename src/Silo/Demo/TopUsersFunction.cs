using Sluice.Functions;

namespace Sluice.Silo.Demo;

/// <summary>Keeps the N users with the most clicks of a window (ties broken by user id, so output is deterministic).</summary>
internal sealed class TopUsersFunction(int count) : IProcessWindowFunction<UserClicks, TopUsers, long>
{
    public void Process(long key, WindowContext context, IReadOnlyList<UserClicks> elements, ICollector<TopUsers> output)
    {
        var top = elements
            .OrderByDescending(e => e.Clicks)
            .ThenBy(e => e.UserId, StringComparer.Ordinal)
            .Take(count)
            .ToList();
        output.Collect(new TopUsers(key, top));
    }
}
