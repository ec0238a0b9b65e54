using System.Text;
using Sluice.KeyGroups;

namespace Sluice.Tests.KeyGroups;

public sealed class KeyGroupAssignerTests
{
    // Reference values of MurmurHash3_x86_32 (seed 0) from the algorithm's published test vectors.
    [Theory]
    [InlineData("", 0x00000000u)]
    [InlineData("a", 0x3c2569b2u)]
    [InlineData("abc", 0xb3dd93fau)]
    [InlineData("Hello, world!", 0xc0363e43u)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x2e4ff723u)]
    public void Murmur3_matches_the_reference_vectors(string input, uint expected) =>
        Assert.Equal(expected, Murmur3.Hash32(Encoding.UTF8.GetBytes(input)));

    [Fact]
    public void String_keys_land_in_the_group_of_their_utf8_murmur3_hash()
    {
        var assigner = new KeyGroupAssigner<string>(128, serializer: null);
        foreach (var key in new[] { "user-1", "user-2", "żółw", "" })
        {
            Assert.Equal((int)(Murmur3.Hash32(Encoding.UTF8.GetBytes(key)) % 128), assigner.Assign(key));
        }
    }

    [Fact]
    public void Long_keys_hash_their_little_endian_bytes()
    {
        var assigner = new KeyGroupAssigner<long>(100, serializer: null);
        Assert.Equal((int)(Murmur3.Hash32(BitConverter.GetBytes(42L)) % 100), assigner.Assign(42L));
    }

    [Fact]
    public void Keys_spread_over_all_groups()
    {
        var assigner = new KeyGroupAssigner<string>(128, serializer: null);
        var groups = Enumerable.Range(0, 10_000).Select(i => assigner.Assign($"user-{i}")).ToHashSet();
        Assert.Equal(128, groups.Count);
    }
}
