using System.Text.Json.Serialization;

namespace Sluice.Silo.Demo;

/// <summary>Source-generated JSON for the demo's Kafka topics (no reflection on the hot path).</summary>
[JsonSerializable(typeof(ClickEvent))]
[JsonSerializable(typeof(TopUsers))]
internal sealed partial class DemoJson : JsonSerializerContext;
