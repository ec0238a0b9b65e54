namespace Sluice.Pipelines;

/// <summary>
/// Turns the builder's logical graph into stages: stateless operators are chained into the stage before them,
/// a <c>KeyBy</c> starts a keyed stage, a sink starts a sink stage. Rejects definitions that cannot run.
/// </summary>
internal static class PipelinePlanner
{
    public static PipelinePlan Plan(Pipeline pipeline)
    {
        var id = pipeline.Id;
        ValidateOptions(pipeline);
        if (pipeline.Sinks.Count == 0)
        {
            throw Invalid(id, "it has no sink; end each branch with SinkTo(...).");
        }

        var consumers = CollectConsumers(pipeline);
        var sources = new List<SourcePlan>();
        var stages = new List<StagePlan>();
        var stageOf = new Dictionary<StreamNode, StagePlan>();

        // Breadth-first from the sources, so every stage gets a higher index than the stages feeding it.
        var queue = new Queue<StreamNode>();
        foreach (var source in pipeline.Sources.Where(consumers.ContainsKey))
        {
            var s = (ISourceNode)source;
            sources.Add(new SourcePlan(sources.Count, source, source.Name, s.Partitions, s.CarriesWatermarks));
            queue.Enqueue(source);
        }

        var seen = new HashSet<StreamNode>();
        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            if (node.SecondInput is { } second && !(seen.Contains(node.Input!) && seen.Contains(second)))
            {
                // A two-input stage is numbered once both its inputs are: it comes again through the other one.
                continue;
            }

            if (!seen.Add(node))
            {
                continue;
            }

            if (node is IKeyedNode keyed)
            {
                var groups = ((IKeyByNode)keyed.KeyByNode).MaxParallelism;
                if (groups is < 1 or > PipelineOptions.MaxSupportedParallelism)
                {
                    throw Invalid(id, $"stage '{node.Name}' has MaxParallelism {groups}; it must be between 1 and {PipelineOptions.MaxSupportedParallelism}.");
                }

                var stage = new StagePlan(stages.Count + 1, StageKind.Keyed, node.Name, groups, node);
                stages.Add(stage);
                stageOf[node] = stage;
            }
            else if (node is ISinkNode sink)
            {
                var stage = new StagePlan(stages.Count + 1, StageKind.Sink, $"sink:{node.Name}", sink.Parallelism, node);
                stages.Add(stage);
                stageOf[node] = stage;
            }

            foreach (var consumer in consumers.GetValueOrDefault(node, []))
            {
                queue.Enqueue(consumer);
            }
        }

        foreach (var source in sources)
        {
            foreach (var (target, port) in WalkChain(id, source.Node, consumers, stageOf, allowTimestamps: true))
            {
                var stage = stages[target - 1];
                stage.Inputs.Add(new InputPlan(true, source.Index, source.Partitions, NextOffset(stage), port));
                AddOnce(source.Targets, target);
            }
        }

        foreach (var stage in stages)
        {
            foreach (var (target, port) in WalkChain(id, stage.Head, consumers, stageOf, allowTimestamps: false))
            {
                var downstream = stages[target - 1];
                downstream.Inputs.Add(new InputPlan(false, stage.Index, stage.Parallelism, NextOffset(downstream), port));
                AddOnce(stage.Targets, target);
            }
        }

        foreach (var stage in stages.Where(s => s.Head.SecondInput is not null))
        {
            // The stage's watermark is the minimum over both inputs: one without watermarks would hold event time back for good.
            if (HasWatermarks(stage.Head.Input!) != HasWatermarks(stage.Head.SecondInput!))
            {
                throw Invalid(id, $"two-input stage '{stage.Name}' has watermarks on only one input; its watermark is the minimum over both, so call .WithTimestamps(...) before both (a side with no event time can use WatermarkStrategy.WithIdleness to stay out of it when quiet).");
            }
        }

        foreach (var stage in stages.Where(s => s.Head is IWindowNode { Assigner.IsEventTime: true }))
        {
            if (!HasWatermarks(((IWindowNode)stage.Head).KeyByNode))
            {
                throw Invalid(id, $"window stage '{stage.Name}' uses event time ({((IWindowNode)stage.Head).Assigner}) but nothing upstream assigns timestamps and watermarks; call .WithTimestamps(extractor, WatermarkStrategy.BoundedOutOfOrderness(...)) before .KeyBy(...).");
            }
        }

        return new PipelinePlan(pipeline, sources, stages, consumers, stageOf);
    }

    private static void ValidateOptions(Pipeline pipeline)
    {
        var o = pipeline.Options;
        if (o.MaxParallelism is < 1 or > PipelineOptions.MaxSupportedParallelism)
        {
            throw Invalid(pipeline.Id, $"MaxParallelism is {o.MaxParallelism}; it must be between 1 and {PipelineOptions.MaxSupportedParallelism}.");
        }

        if (o.OnError is null)
        {
            throw Invalid(pipeline.Id, "OnError must be set (ErrorPolicy.Fail or ErrorPolicy.SkipAndCount).");
        }

        if (o.OnError.Kind == ErrorPolicyKind.DeadLetter)
        {
            throw Invalid(pipeline.Id, "OnError of a pipeline is Fail or SkipAndCount; a dead-letter side output is chosen per operator with stream.OnError(ErrorPolicy.DeadLetter(tag)).");
        }

        if (o.BufferSize < 1 || o.SourceBatchSize < 1 || o.MaxQueuedBatchesPerChannel < 1)
        {
            throw Invalid(pipeline.Id, "BufferSize, SourceBatchSize and MaxQueuedBatchesPerChannel must be positive.");
        }

        if (o.BufferTimeout <= TimeSpan.Zero || o.WatermarkInterval <= TimeSpan.Zero || o.ExchangeWatermarkInterval <= TimeSpan.Zero)
        {
            throw Invalid(pipeline.Id, "BufferTimeout, WatermarkInterval and ExchangeWatermarkInterval must be positive.");
        }
    }

    private static Dictionary<StreamNode, List<StreamNode>> CollectConsumers(Pipeline pipeline)
    {
        var consumers = new Dictionary<StreamNode, List<StreamNode>>();
        var stack = new Stack<StreamNode>(pipeline.Sinks);
        var visited = new HashSet<StreamNode>();
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            if (!visited.Add(node) || node.Input is null)
            {
                continue;
            }

            if (!consumers.TryGetValue(node.Input, out var list))
            {
                consumers[node.Input] = list = [];
            }

            list.Add(node);
            stack.Push(node.Input);
            if (node.SecondInput is { } second)
            {
                if (!consumers.TryGetValue(second, out var secondList))
                {
                    consumers[second] = secondList = [];
                }

                secondList.Add(node);
                stack.Push(second);
            }
        }

        return consumers;
    }

    /// <summary>Follows the chain fused into a stage and returns the stages it sends to, with the input (port) of each it feeds.</summary>
    private static List<(int Stage, int Port)> WalkChain(
        string id, StreamNode head, Dictionary<StreamNode, List<StreamNode>> consumers, Dictionary<StreamNode, StagePlan> stageOf, bool allowTimestamps)
    {
        var targets = new List<(int Stage, int Port)>();
        var stack = new Stack<StreamNode>(consumers.GetValueOrDefault(head, []));
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            switch (node)
            {
                case ISinkNode:
                    targets.Add((stageOf[node].Index, 0));
                    break;
                case IKeyByNode or IBroadcastNode:
                    foreach (var keyed in consumers.GetValueOrDefault(node, []))
                    {
                        targets.Add((stageOf[keyed].Index, keyed.SecondInput == node ? 1 : 0));
                    }

                    break;
                case IStatelessNode:
                    if (!allowTimestamps && node is ITimestampsNode)
                    {
                        throw Invalid(id, $"WithTimestamps after '{head.Name}' is not supported: timestamps and watermarks are assigned per source partition, so call WithTimestamps before the first KeyBy.");
                    }

                    foreach (var next in consumers.GetValueOrDefault(node, []))
                    {
                        stack.Push(next);
                    }

                    break;
                default:
                    throw Invalid(id, $"'{node.Name}' cannot follow '{head.Name}' directly.");
            }
        }

        return targets;
    }

    private static bool HasWatermarks(StreamNode keyBy)
    {
        for (var node = keyBy.Input; node is not null; node = node.Input)
        {
            switch (node)
            {
                case ISourceNode source:
                    return source.CarriesWatermarks;
                case IWindowNode:
                    return true; // window results carry the window's timestamp and the upstream watermark
                case ITimestampsNode:
                    return true;
            }
        }

        return false;
    }

    private static void AddOnce(List<int> targets, int target)
    {
        if (!targets.Contains(target))
        {
            targets.Add(target);
        }
    }

    private static int NextOffset(StagePlan stage) => stage.Inputs.Sum(i => i.UpstreamParallelism);

    private static PipelineValidationException Invalid(string id, string problem) => new($"Pipeline '{id}' is invalid: {problem}");
}
