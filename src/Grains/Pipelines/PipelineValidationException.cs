namespace Sluice.Pipelines;

/// <summary>A pipeline definition that cannot run; the message names the pipeline, the stage and the fix.</summary>
public sealed class PipelineValidationException(string message) : Exception(message);
