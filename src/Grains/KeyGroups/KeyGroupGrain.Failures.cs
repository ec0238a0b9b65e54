using Microsoft.Extensions.Logging;
using Sluice.Checkpointing;
using Sluice.Tasks;

namespace Sluice.KeyGroups;

/// <summary>A user function's failure under <see cref="ErrorPolicy.Fail"/>: the task fails, as Flink's does.</summary>
internal sealed partial class KeyGroupGrain
{
    // Without checkpoints: why this task stopped (a user function failed); shown as the pipeline's FAILED reason.
    private string? _userFailure;

    /// <summary>
    /// The task processes nothing more in this attempt. With checkpoints the coordinator hears of it and restarts the
    /// pipeline from the last checkpoint (the restart strategy applies, then FAILED with this message); nothing after the
    /// failed record can be in a completed checkpoint, since this task forwards no barrier of the attempt any more.
    /// Without checkpoints nothing could replay the record, so the pipeline is FAILED with the reason.
    /// </summary>
    private async Task FailOnUserErrorAsync(UserFunctionException ex)
    {
        if (_plan.Options.CheckpointInterval is not null)
        {
            _logger.LogError(ex.InnerException, "{Task}: a user function failed; the pipeline restarts from its last checkpoint", _name);
            await FailInAttemptAsync(ex.Message);
            return;
        }

        _failedInAttempt = true;
        _userFailure ??= ex.Message;
        _logger.LogError(ex.InnerException, "{Task}: a user function failed; without checkpoints the pipeline fails", _name);
        await ReportAsync(force: true);
    }
}
