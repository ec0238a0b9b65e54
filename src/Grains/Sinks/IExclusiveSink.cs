namespace Sluice.Sinks;

/// <summary>
/// A sink that names external state after a setting which must be unique per pipeline (the Kafka sink's transactional id
/// prefix): registering a second pipeline that claims the same resource is refused at start.
/// </summary>
internal interface IExclusiveSink
{
    /// <summary>The claimed resource, or null when this sink's settings claim none.</summary>
    ExclusiveSinkClaim? ExclusiveClaim { get; }
}

/// <param name="Resource">What is claimed, unique across kinds of sink (e.g. <c>kafka transactional id prefix 'x' on host:9092</c>).</param>
/// <param name="Setting">The setting that names it, for the error (e.g. <c>KafkaSinkOptions.TransactionalIdPrefix 'x'</c>).</param>
internal sealed record ExclusiveSinkClaim(string Resource, string Setting);
