using Sluice.Queries;
using Sluice.QueryableState;

namespace Sluice.KeyGroups;

/// <summary>The key group's answer to live state queries: a read of its task's queryable state, nothing else.</summary>
internal sealed partial class KeyGroupGrain
{
    public Task<KeyGroupQueryAnswer> QueryStateAsync(string stateName, object[] keys)
    {
        if (_unfinishedReset is not null || _failedInAttempt)
        {
            // Restoring (or waiting to be restarted after a failed restore): the state is empty or about to be replaced.
            throw new KeyGroupRestoringException(_plan.Id, stateName, _taskIndex);
        }

        if (_task.Queries is not { } queries || !queries.Has(stateName))
        {
            throw new QueryableStateNotFoundException(_plan.Id, stateName, $"stage '{_stage.Name}' holds no state queryable under that name");
        }

        var found = new bool[keys.Length];
        var values = new object?[keys.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            found[i] = queries.TryRead(stateName, keys[i], out values[i]);
        }

        return Task.FromResult(new KeyGroupQueryAnswer(found, values, _gate.Watermark, _attempt));
    }
}
