using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Orleans.Serialization;

namespace Sluice.KeyGroups;

/// <summary>
/// <c>keyGroup = murmur3_32(keyBytes) mod maxParallelism</c>. Key bytes are the little-endian value for
/// primitives, UTF-8 for strings and the Orleans wire form for anything else, so every silo agrees on
/// where a key lives.
/// </summary>
internal sealed class KeyGroupAssigner<TKey>
    where TKey : notnull
{
    private static readonly bool IsRaw = IsRawHashable(typeof(TKey));
    private readonly Serializer<TKey>? _serializer;

    public KeyGroupAssigner(int maxParallelism, Serializer<TKey>? serializer)
    {
        MaxParallelism = maxParallelism;
        _serializer = serializer;
        if (!IsRaw && typeof(TKey) != typeof(string) && serializer is null)
        {
            throw new InvalidOperationException($"Keys of type {typeof(TKey).Name} need an Orleans serializer to be hashed.");
        }
    }

    public int MaxParallelism { get; }

    public int Assign(TKey key) => (int)(Hash(key) % (uint)MaxParallelism);

    public uint Hash(TKey key)
    {
        if (IsRaw)
        {
            return Murmur3.Hash32(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<TKey, byte>(ref key), Unsafe.SizeOf<TKey>()));
        }

        if (typeof(TKey) == typeof(string))
        {
            return HashString(Unsafe.As<TKey, string>(ref key));
        }

        var writer = new ArrayBufferWriter<byte>(64);
        _serializer!.Serialize(key, writer);
        return Murmur3.Hash32(writer.WrittenSpan);
    }

    private static uint HashString(string key)
    {
        var max = Encoding.UTF8.GetMaxByteCount(key.Length);
        if (max <= 512)
        {
            Span<byte> buffer = stackalloc byte[max];
            return Murmur3.Hash32(buffer[..Encoding.UTF8.GetBytes(key, buffer)]);
        }

        var rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            return Murmur3.Hash32(rented.AsSpan(0, Encoding.UTF8.GetBytes(key, rented)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // Only types whose bytes are fully defined (no padding, no references) hash by their memory.
    private static bool IsRawHashable(Type t) =>
        t.IsPrimitive || t.IsEnum || t == typeof(Guid);
}
