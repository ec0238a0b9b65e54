using Sluice.Pipelines;

namespace Sluice.Pipelines;

/// <summary>The physical plan of a pipeline: source stages feeding keyed and sink stages over exchanges.</summary>
internal sealed class PipelinePlan(
    Pipeline pipeline,
    IReadOnlyList<SourcePlan> sources,
    IReadOnlyList<StagePlan> stages,
    IReadOnlyDictionary<StreamNode, List<StreamNode>> consumers,
    IReadOnlyDictionary<StreamNode, StagePlan> stageOf)
{
    public Pipeline Pipeline { get; } = pipeline;

    public string Id => Pipeline.Id;

    public PipelineOptions Options => Pipeline.Options;

    public IReadOnlyList<SourcePlan> Sources { get; } = sources;

    /// <summary>Keyed and sink stages; stage <c>i</c> is at index <c>i - 1</c>.</summary>
    public IReadOnlyList<StagePlan> Stages { get; } = stages;

    /// <summary>The nodes that read each node's output.</summary>
    public IReadOnlyList<StreamNode> ConsumersOf(StreamNode node) => consumers.TryGetValue(node, out var list) ? list : [];

    /// <summary>The stage a window or sink node starts.</summary>
    public StagePlan StageOf(StreamNode head) => stageOf[head];

    public int KeyGroups => Stages.Where(s => s.Kind == StageKind.Keyed).Sum(s => s.Parallelism);

    public StagePlan GetStage(int index) =>
        index >= 1 && index <= Stages.Count
            ? Stages[index - 1]
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"Pipeline '{Id}' has stages 1..{Stages.Count}.");

    public static string TaskKey(string pipelineId, int stage, int task) => $"{pipelineId}/{stage}/{task}";

    /// <summary>Parses a task grain key "{pipeline}/{stage}/{task}".</summary>
    public static (string Pipeline, int Stage, int Task) ParseTaskKey(string key)
    {
        var last = key.LastIndexOf('/');
        var middle = last > 0 ? key.LastIndexOf('/', last - 1) : -1;
        if (middle <= 0
            || !int.TryParse(key.AsSpan(middle + 1, last - middle - 1), out var stage)
            || !int.TryParse(key.AsSpan(last + 1), out var task))
        {
            throw new FormatException($"'{key}' is not a task key of the form pipeline/stage/task.");
        }

        return (key[..middle], stage, task);
    }
}

internal enum StageKind
{
    Keyed,
    Sink,
}

/// <summary>
/// Where a stage's input comes from; channel ids at the receiver are <c>ChannelOffset + sender index</c>. <see cref="Port"/>
/// says which input of a two-input stage it feeds (0: the first or only one, 1: the second or broadcast one).
/// </summary>
internal sealed record InputPlan(bool FromSource, int Upstream, int UpstreamParallelism, int ChannelOffset, int Port = 0);

/// <summary>A source and its partitions: the source stage, which runs inside the stream provider's receivers.</summary>
internal sealed class SourcePlan(int index, StreamNode node, string name, int partitions, bool carriesWatermarks)
{
    public int Index { get; } = index;

    public StreamNode Node { get; } = node;

    public string Name { get; } = name;

    public int Partitions { get; } = partitions;

    public bool CarriesWatermarks { get; } = carriesWatermarks;

    /// <summary>Stages this source's chain sends to.</summary>
    public List<int> Targets { get; } = [];
}

/// <summary>A keyed stage (one grain per key group) or a sink stage (one grain per sink task).</summary>
internal sealed class StagePlan(int index, StageKind kind, string name, int parallelism, StreamNode head)
{
    public int Index { get; } = index;

    public StageKind Kind { get; } = kind;

    public string Name { get; } = name;

    public int Parallelism { get; } = parallelism;

    /// <summary>The keyed operator (window node) or the sink node that starts the stage's chain.</summary>
    public StreamNode Head { get; } = head;

    public List<InputPlan> Inputs { get; } = [];

    /// <summary>Stages this stage's chain sends to.</summary>
    public List<int> Targets { get; } = [];

    public InputPlan InputFrom(bool fromSource, int upstream, int port = 0) =>
        Inputs.Find(i => i.FromSource == fromSource && i.Upstream == upstream && i.Port == port)
        ?? throw new InvalidOperationException($"Stage {Index} has no input from {(fromSource ? "source" : "stage")} {upstream} on port {port}.");

    private int[]? _portOfChannel;

    /// <summary>Which input (port) a channel belongs to; built once the plan is complete, then a lookup per batch.</summary>
    public int PortOf(int channel)
    {
        var ports = _portOfChannel ??= BuildPorts();
        return (uint)channel < (uint)ports.Length ? ports[channel] : 0;
    }

    private int[] BuildPorts()
    {
        var ports = new int[Inputs.Sum(i => i.UpstreamParallelism)];
        foreach (var input in Inputs)
        {
            Array.Fill(ports, input.Port, input.ChannelOffset, input.UpstreamParallelism);
        }

        return ports;
    }

    /// <summary>Which sender tasks feed task <paramref name="task"/>: all of them for a keyed stage; for a sink see <see cref="FeedsSinkTask"/>.</summary>
    public IReadOnlyList<int> ChannelsOf(int task)
    {
        var channels = new List<int>();
        foreach (var input in Inputs)
        {
            for (var sender = 0; sender < input.UpstreamParallelism; sender++)
            {
                if (Kind == StageKind.Keyed || FeedsSinkTask(sender, input.UpstreamParallelism, task))
                {
                    channels.Add(input.ChannelOffset + sender);
                }
            }
        }

        return channels;
    }

    /// <summary>The tasks of this stage that sender <paramref name="sender"/> of <paramref name="input"/> sends to, in channel order.</summary>
    public int[] TargetsOf(InputPlan input, int sender) =>
        Enumerable.Range(0, Parallelism)
            .Where(task => Kind == StageKind.Keyed || FeedsSinkTask(sender, input.UpstreamParallelism, task))
            .ToArray();

    // Forwarding into a sink: with no more sink tasks than senders, sender s feeds task s mod P. With more,
    // sender s feeds tasks s, s + U, s + 2U, ... round-robin; a sink task no sender fed would never be
    // activated, never finish, and its sink (e.g. CollectingSink.Completion) would wait forever.
    private bool FeedsSinkTask(int sender, int senders, int task) =>
        Parallelism <= senders ? sender % Parallelism == task : task % senders == sender;
}
