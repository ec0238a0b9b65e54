using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Sluice.KeyGroups;
using Sluice.Pipelines;
using Sluice.Tasks;

namespace Sluice.QueryableState;

/// <summary>The keys of one keyed stage as live state queries see them: their type, text form and key group.</summary>
internal interface IStageKeys
{
    StagePlan Stage { get; }

    Type KeyType { get; }

    /// <summary>The key group of <paramref name="key"/>, by the hashing the engine partitions records with.</summary>
    int KeyGroupOf(object key);

    bool Accepts(object key);

    /// <summary>Parses a key given as text: strings as they are; numbers, Guids, enums and other primitives in the invariant culture.</summary>
    bool TryParse(string text, out object key);
}

internal sealed class StageKeys<TKey>(StagePlan stage, KeyGroupAssigner<TKey> assigner) : IStageKeys
    where TKey : notnull
{
    public StagePlan Stage => stage;

    public Type KeyType => typeof(TKey);

    public int KeyGroupOf(object key) => assigner.Assign((TKey)key);

    public bool Accepts(object key) => key is TKey;

    public bool TryParse(string text, out object key)
    {
        key = null!;
        var type = typeof(TKey);
        try
        {
            if (type == typeof(string))
            {
                key = text;
            }
            else if (type == typeof(Guid))
            {
                key = Guid.Parse(text, CultureInfo.InvariantCulture);
            }
            else if (type.IsEnum)
            {
                key = Enum.Parse(type, text, ignoreCase: false);
            }
            else if (type.IsPrimitive || type == typeof(decimal))
            {
                key = Convert.ChangeType(text, type, CultureInfo.InvariantCulture);
            }
            else
            {
                return false;
            }
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException or InvalidCastException)
        {
            return false;
        }

        return true;
    }
}

/// <summary>Makes the <see cref="IStageKeys"/> of a keyed stage from its <c>KeyBy</c> node, typed by the node's key type.</summary>
internal sealed class StageKeysBuilder(StagePlan stage, IServiceProvider services) : HeadVisitor<IStageKeys>("live state queries")
{
    public static IStageKeys For(StagePlan stage, IServiceProvider services) =>
        ((IKeyedNode)stage.Head).KeyByNode.Accept(new StageKeysBuilder(stage, services));

    public override IStageKeys VisitKeyBy<T, TKey>(KeyByNode<T, TKey> node) =>
        new StageKeys<TKey>(stage, new KeyGroupAssigner<TKey>(stage.Parallelism, services.GetService<Serializer<TKey>>()));
}
