namespace Sluice.Queries;

/// <summary>
/// The answer to a live state query: the key's value (when it has one) as the key group holding it sees it, that key
/// group's event-time watermark when it answered, and the pipeline's last completed checkpoint. Every record with a
/// timestamp at or below <see cref="EventTimeWatermark"/> that was not late had reached the state when it was read.
/// </summary>
/// <param name="Found">False when the key has no value (never written, cleared, or expired by its time-to-live).</param>
/// <param name="Value">The value; default when not <paramref name="Found"/>.</param>
/// <param name="EventTimeWatermark">Milliseconds since the epoch; null before the key group has seen any watermark.</param>
/// <param name="LastCompletedCheckpointId">The pipeline's newest completed checkpoint; null when it has none or takes none.</param>
/// <param name="KeyGroup">The key group (of the stage holding the state) that answered.</param>
public sealed record StateQueryResult<TValue>(
    bool Found,
    TValue? Value,
    long? EventTimeWatermark,
    long? LastCompletedCheckpointId,
    int KeyGroup)
{
    /// <summary><see cref="EventTimeWatermark"/> as a UTC time.</summary>
    public DateTimeOffset? EventTimeWatermarkUtc =>
        EventTimeWatermark is { } w ? DateTimeOffset.FromUnixTimeMilliseconds(w) : null;
}

/// <summary>One key's answer as it crosses the cluster (the value untyped); clients see <see cref="StateQueryResult{TValue}"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record StateQueryAnswer(
    [property: Id(0)] bool Found,
    [property: Id(1)] object? Value,
    [property: Id(2)] long EventTimeWatermark,
    [property: Id(3)] long LastCompletedCheckpointId,
    [property: Id(4)] int KeyGroup)
{
    /// <summary>Converts to the typed result, checking that the value is a <typeparamref name="TValue"/>.</summary>
    /// <exception cref="QueryableStateTypeException">The state holds values of another type.</exception>
    public StateQueryResult<TValue> As<TValue>(string pipelineId, string stateName)
    {
        TValue? value = default;
        if (Found)
        {
            value = Value is TValue typed || Value is null && default(TValue) is null
                ? (TValue?)Value
                : throw new QueryableStateTypeException(
                    $"Queryable state '{stateName}' of pipeline '{pipelineId}' holds values of type {Value!.GetType()}, not {typeof(TValue)}.");
        }

        return new StateQueryResult<TValue>(
            Found,
            value,
            EventTimeWatermark is long.MinValue ? null : EventTimeWatermark,
            LastCompletedCheckpointId > 0 ? LastCompletedCheckpointId : null,
            KeyGroup);
    }
}
