using Sluice.Functions;

namespace Sluice.Sinks;

/// <summary>A sink of the engine whose writers use the silo's services (the Kafka sink spills large epochs to the checkpoint store).</summary>
internal interface IServiceAwareSink<in T>
{
    ISinkFunction<T> CreateWriter(string pipelineId, int taskIndex, IServiceProvider services);
}
