using System.Text.Json.Serialization;

namespace Sluice.Silo.Jobs.Fraud;

/// <summary>
/// A card transaction, as JSON on the transactions topic:
/// <c>{"txId":"tx-17","cardId":"card-3","amount":0.42,"ts":1700000000000}</c> (<c>ts</c>: event time, ms since the epoch).
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record CardTransaction(
    [property: Id(0), JsonPropertyName("txId")] string TxId,
    [property: Id(1), JsonPropertyName("cardId")] string CardId,
    [property: Id(2), JsonPropertyName("amount")] decimal Amount,
    [property: Id(3), JsonPropertyName("ts")] long Timestamp);

/// <summary>
/// One version of a rule, as JSON on the rules topic: from <see cref="Timestamp"/> on (event time), a charge below
/// <see cref="SmallBelow"/> followed on the same card by one above <see cref="LargeAbove"/> within <see cref="WindowMs"/>
/// is an alert. <c>{"ruleId":"small-then-large","ts":1700000000000,"smallBelow":1.00,"largeAbove":500,"windowMs":60000}</c>;
/// <c>"enabled":false</c> pauses a rule and <c>"deleted":true</c> ends it, both from <c>ts</c> on.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record FraudRule(
    [property: Id(0), JsonPropertyName("ruleId")] string RuleId,
    [property: Id(1), JsonPropertyName("ts")] long Timestamp,
    [property: Id(2), JsonPropertyName("smallBelow")] decimal SmallBelow = 0,
    [property: Id(3), JsonPropertyName("largeAbove")] decimal LargeAbove = 0,
    [property: Id(4), JsonPropertyName("windowMs")] long WindowMs = FraudRule.DefaultWindowMs,
    [property: Id(5), JsonPropertyName("enabled")] bool Enabled = true,
    [property: Id(6), JsonPropertyName("deleted")] bool Deleted = false)
{
    public const long DefaultWindowMs = 60_000;

    /// <summary>Whether this version flags and alerts (neither paused nor deleted).</summary>
    [JsonIgnore]
    public bool IsActive => Enabled && !Deleted;
}

/// <summary>A small charge followed by a large one on the same card within the rule's window: one JSON message on the alerts topic.</summary>
[GenerateSerializer, Immutable]
internal sealed record FraudAlert(
    [property: Id(0), JsonPropertyName("cardId")] string CardId,
    [property: Id(1), JsonPropertyName("ruleId")] string RuleId,
    [property: Id(2), JsonPropertyName("smallTxId")] string SmallTxId,
    [property: Id(3), JsonPropertyName("smallAmount")] decimal SmallAmount,
    [property: Id(4), JsonPropertyName("smallTs")] long SmallTimestamp,
    [property: Id(5), JsonPropertyName("largeTxId")] string LargeTxId,
    [property: Id(6), JsonPropertyName("largeAmount")] decimal LargeAmount,
    [property: Id(7), JsonPropertyName("largeTs")] long LargeTimestamp);

/// <summary>
/// "A small charge was seen" for one rule of one card: kept until a large charge under the same rule version
/// consumes it or the window ends (<see cref="ExpiresAt"/>, event time).
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record SmallCharge(
    [property: Id(0)] string TxId,
    [property: Id(1)] decimal Amount,
    [property: Id(2)] long Timestamp,
    [property: Id(3)] long RuleVersion,
    [property: Id(4)] long ExpiresAt);

/// <summary>Source-generated JSON for the fraud job's topics (no reflection on the hot path).</summary>
[JsonSerializable(typeof(CardTransaction))]
[JsonSerializable(typeof(FraudRule))]
[JsonSerializable(typeof(FraudAlert))]
internal sealed partial class FraudJson : JsonSerializerContext;
