using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Sluice.Exchange;
using Sluice.KeyGroups;
using Sluice.Operators;
using Sluice.Pipelines;
using Sluice.ProcessFunctions;
using Sluice.QueryableState;
using Sluice.State;
using Sluice.State.Serialization;
using Sluice.Time;
using Sluice.Windows;

namespace Sluice.Tasks;

/// <summary>
/// Builds the typed operator chain behind a node, consumers first, so each operator is constructed with the
/// operator it pushes to. Generic visits keep every record path typed without reflection.
/// </summary>
internal sealed class ChainBuilder(TaskBuildContext context) : IStreamNodeVisitor<object>
{
    /// <summary>The sink that receives <paramref name="producer"/>'s output within this task.</summary>
    public IRecordSink<T> ConsumersOf<T>(StreamNode producer)
    {
        var consumers = MainConsumers(context.Plan.ConsumersOf(producer));
        if (consumers.Count == 1)
        {
            return (IRecordSink<T>)consumers[0].Accept(this);
        }

        var sinks = new IRecordSink<T>[consumers.Count];
        for (var i = 0; i < sinks.Length; i++)
        {
            sinks[i] = (IRecordSink<T>)consumers[i].Accept(this);
        }

        return new BroadcastSink<T>(sinks);
    }

    /// <summary>The chains reading <paramref name="producer"/>'s side outputs (a process function's, or an operator's dead letters).</summary>
    public SideOutputs SideOutputsOf(StreamNode producer)
    {
        var sides = new List<SideOutput>();
        foreach (var consumer in context.Plan.ConsumersOf(producer))
        {
            if (consumer is ISideOutputNode)
            {
                sides.Add((SideOutput)consumer.Accept(this));
            }
        }

        return sides.Count == 0 ? SideOutputs.None : new SideOutputs([.. sides], context.Counters);
    }

    private static IReadOnlyList<StreamNode> MainConsumers(IReadOnlyList<StreamNode> consumers)
    {
        foreach (var consumer in consumers)
        {
            if (consumer is ISideOutputNode)
            {
                return consumers.Where(c => c is not ISideOutputNode).ToList();
            }
        }

        return consumers;
    }

    public object VisitSideOutput<T>(SideOutputNode<T> node) => new SideOutput<T>(node.Tag, ConsumersOf<T>(node));

    public object VisitMap<TIn, TOut>(MapNode<TIn, TOut> node) =>
        Guarded(node, new MapOperator<TIn, TOut>(node.Map, Downstream<TOut>(node)));

    public object VisitFilter<T>(FilterNode<T> node) =>
        Guarded(node, new FilterOperator<T>(node.Predicate, Downstream<T>(node)));

    public object VisitFlatMap<TIn, TOut>(FlatMapNode<TIn, TOut> node) =>
        Guarded(node, new FlatMapOperator<TIn, TOut>(node.FlatMap, Downstream<TOut>(node)));

    /// <summary>What an operator pushes to: behind a boundary when it has its own error policy (see <see cref="GuardedOperator{T}"/>).</summary>
    private IRecordSink<T> Downstream<T>(StreamNode node)
    {
        var consumers = ConsumersOf<T>(node);
        return node.OnError is null ? consumers : new DownstreamBoundary<T>(consumers);
    }

    /// <summary>The operator itself, or guarded by its own error policy (null: the pipeline's, applied by the task).</summary>
    private IRecordSink<TIn> Guarded<TIn>(StreamNode node, IRecordSink<TIn> op) =>
        node.OnError is not { } policy
            ? op
            : new GuardedOperator<TIn>(op, node.Name, policy, context.Errors, context.Counters, SideOutputsOf(node));

    public object VisitTimestamps<T>(TimestampsNode<T> node)
    {
        var watermark = context.SourceWatermark
            ?? throw new PipelineValidationException($"Pipeline '{context.Plan.Id}': WithTimestamps must come before the first KeyBy.");
        var op = new TimestampsOperator<T>(node.Extractor, node.Strategy.CreateGenerator<T>(), watermark, ConsumersOf<T>(node));
        context.PeriodicWatermarkEmitters.Add(op.EmitPeriodic);
        context.IdleTimeout = node.Strategy.IdleTimeout;
        return op;
    }

    public object VisitKeyBy<T, TKey>(KeyByNode<T, TKey> node)
        where TKey : notnull
    {
        var serializer = context.Services.GetService<Serializer<TKey>>();
        var targets = context.Plan.ConsumersOf(node);
        var partitioners = new IRecordSink<T>[targets.Count];
        for (var i = 0; i < targets.Count; i++)
        {
            var stage = context.Plan.StageOf(targets[i]);
            var buffers = NewBuffers<T>(stage.Parallelism, 16);
            var output = context.CreateOutput(stage, PortOf(targets[i], node), buffers);
            partitioners[i] = new KeyGroupPartitioner<T, TKey>(
                node.Selector,
                new KeyGroupAssigner<TKey>(stage.Parallelism, serializer),
                buffers,
                output,
                context.Plan.Options.BufferSize,
                context.Counters,
                context.Errors,
                stage.Name);
        }

        return partitioners.Length == 1 ? partitioners[0] : new BroadcastSink<T>(partitioners);
    }

    public object VisitSink<T>(SinkNode<T> node)
    {
        var stage = context.Plan.StageOf(node);
        var buffers = NewBuffers<T>(context.TargetsOf(stage, port: 0).Length, 64);

        var output = context.CreateOutput(stage, port: 0, buffers);
        return new ForwardPartitioner<T>(buffers, output, context.Plan.Options.BufferSize);
    }

    /// <summary>Every record into the buffer of every key group of the stage reading the broadcast (its second input).</summary>
    public object VisitBroadcast<T>(BroadcastNode<T> node)
    {
        var targets = context.Plan.ConsumersOf(node);
        var partitioners = new IRecordSink<T>[targets.Count];
        for (var i = 0; i < targets.Count; i++)
        {
            var stage = context.Plan.StageOf(targets[i]);
            var buffers = NewBuffers<T>(stage.Parallelism, 16);
            partitioners[i] = new BroadcastPartitioner<T>(buffers, context.CreateOutput(stage, port: 1, buffers), context.Plan.Options.BufferSize);
        }

        return partitioners.Length == 1 ? partitioners[0] : new BroadcastSink<T>(partitioners);
    }

    /// <summary>One record buffer per target task of an edge.</summary>
    private static RecordBatchBuilder<T>[] NewBuffers<T>(int targets, int capacity)
    {
        var buffers = new RecordBatchBuilder<T>[targets];
        for (var i = 0; i < buffers.Length; i++)
        {
            buffers[i] = new RecordBatchBuilder<T>(capacity);
        }

        return buffers;
    }

    /// <summary>The input of <paramref name="consumer"/> that <paramref name="producer"/> feeds: 1 for a two-input stage's second input.</summary>
    private static int PortOf(StreamNode consumer, StreamNode producer) => consumer.SecondInput == producer ? 1 : 0;

    // Heads are not consumers inside a chain: the planner starts a new stage at each of them.
    public object VisitSource<T>(SourceNode<T> node) => throw new InvalidOperationException("A source cannot consume another node.");

    public object VisitWindow<TIn, TKey, TAcc, TResult, TOut>(WindowNode<TIn, TKey, TAcc, TResult, TOut> node)
        where TKey : notnull =>
        throw new InvalidOperationException("A window starts its own stage.");

    public object VisitProcess<TIn, TKey, TOut>(ProcessNode<TIn, TKey, TOut> node)
        where TKey : notnull =>
        throw new InvalidOperationException("A process function starts its own stage.");

    public object VisitCoProcess<TIn1, TIn2, TKey, TOut>(CoProcessNode<TIn1, TIn2, TKey, TOut> node)
        where TKey : notnull =>
        throw new InvalidOperationException("A co-process function starts its own stage.");

    public object VisitBroadcastProcess<TIn, TKey, TBroadcast, TOut>(BroadcastProcessNode<TIn, TKey, TBroadcast, TOut> node)
        where TKey : notnull =>
        throw new InvalidOperationException("A broadcast process function starts its own stage.");
}

/// <summary>Builds the task that runs a keyed or sink stage's head and everything chained after it.</summary>
internal sealed class StageTaskBuilder(TaskBuildContext context, string taskName) : HeadVisitor<IStageTask>(taskName)
{
    private readonly ChainBuilder _chain = new(context);

    public override IStageTask VisitWindow<TIn, TKey, TAcc, TResult, TOut>(WindowNode<TIn, TKey, TAcc, TResult, TOut> node)
    {
        var output = _chain.ConsumersOf<TOut>(node);
        var serializers = new OrleansStateSerializers(context.Services);
        var backend = KeyedStateBackends.Create<TKey>(context.Plan.Options.StateBackend, context.TaskIndex, serializers, new StateTime(context.Clock));
        var op = new WindowOperator<TIn, TKey, TAcc, TResult, TOut>(node, output, backend, serializers, context.Counters, context.Errors, _chain.SideOutputsOf(node));
        return new KeyedStageTask<TIn, TKey>(node.KeyBy.Selector, op, context.Outputs, context.Counters, context.Errors)
        {
            Queries = new QueryableStates<TKey>(backend),
        };
    }

    public override IStageTask VisitProcess<TIn, TKey, TOut>(ProcessNode<TIn, TKey, TOut> node)
    {
        var output = _chain.ConsumersOf<TOut>(node);
        var serializers = new OrleansStateSerializers(context.Services);
        var backend = KeyedStateBackends.Create<TKey>(context.Plan.Options.StateBackend, context.TaskIndex, serializers, new StateTime(context.Clock));
        var op = new KeyedProcessOperator<TIn, TKey, TOut>(node.Name, node.CreateFunction(), output, backend, serializers, context.Counters, context.Errors, _chain.SideOutputsOf(node));
        return new KeyedStageTask<TIn, TKey>(node.KeyBy.Selector, op, context.Outputs, context.Counters, context.Errors)
        {
            Queries = new QueryableStates<TKey>(backend),
        };
    }

    public override IStageTask VisitCoProcess<TIn1, TIn2, TKey, TOut>(CoProcessNode<TIn1, TIn2, TKey, TOut> node)
    {
        var output = _chain.ConsumersOf<TOut>(node);
        var serializers = new OrleansStateSerializers(context.Services);
        var backend = KeyedStateBackends.Create<TKey>(context.Plan.Options.StateBackend, context.TaskIndex, serializers, new StateTime(context.Clock));
        var op = new KeyedCoProcessOperator<TIn1, TIn2, TKey, TOut>(node.Name, node.CreateFunction(), output, backend, serializers, context.Counters, context.Errors, _chain.SideOutputsOf(node));
        var second = new KeyedSecondInput<TIn2, TKey>(node.KeyBy2.Selector, op, context.Counters, context.Errors);
        return new KeyedStageTask<TIn1, TKey>(node.KeyBy1.Selector, op, context.Outputs, context.Counters, context.Errors, second)
        {
            Queries = new QueryableStates<TKey>(backend),
        };
    }

    public override IStageTask VisitBroadcastProcess<TIn, TKey, TBroadcast, TOut>(BroadcastProcessNode<TIn, TKey, TBroadcast, TOut> node)
    {
        var output = _chain.ConsumersOf<TOut>(node);
        var serializers = new OrleansStateSerializers(context.Services);
        var backend = KeyedStateBackends.Create<TKey>(context.Plan.Options.StateBackend, context.TaskIndex, serializers, new StateTime(context.Clock));
        var op = new KeyedBroadcastProcessOperator<TIn, TKey, TBroadcast, TOut>(
            node.Name, node.CreateFunction(), node.Broadcast.Descriptors, output, backend, serializers, context.Counters, context.Errors, _chain.SideOutputsOf(node));
        var second = new BroadcastSecondInput<TBroadcast>(op, context.Counters, context.Errors);
        return new KeyedStageTask<TIn, TKey>(node.KeyBy.Selector, op, context.Outputs, context.Counters, context.Errors, second)
        {
            Queries = new QueryableStates<TKey>(backend),
        };
    }

    public override IStageTask VisitSink<T>(SinkNode<T> node)
    {
        var pipelineId = context.Plan.Id;
        var services = context.Services;
        Functions.ISinkFunction<T> CreateWriter(int task) => node.Sink is Sinks.IServiceAwareSink<T> aware
            ? aware.CreateWriter(pipelineId, task, services)
            : node.Sink.CreateWriter(pipelineId, task);
        return new SinkStageTask<T>(CreateWriter(context.TaskIndex), CreateWriter, pipelineId, context.TaskIndex, context.Counters, context.Errors);
    }
}
