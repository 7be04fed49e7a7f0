extern alias gen;

using System.Collections.Generic;
using System.Linq;
using gen::ShardGen.Generators.Models;

namespace ShardGen.Generators.Tests;

public class EquatableArrayTests
{
    [Fact]
    public void SameContentIsEqualWithTheSameHash()
    {
        var a = new EquatableArray<string>(new[] { "Up", "Down" });
        var b = new EquatableArray<string>(new List<string> { "Up", "Down" });
        Assert.True(a.Equals(b));
        Assert.True(a == b);
        Assert.False(a != b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.True(a.Equals((object)b));
    }

    [Fact]
    public void DifferentContentOrderOrLengthIsNotEqual()
    {
        var a = new EquatableArray<string>(new[] { "Up", "Down" });
        Assert.NotEqual(a, new EquatableArray<string>(new[] { "Down", "Up" }));
        Assert.NotEqual(a, new EquatableArray<string>(new[] { "Up" }));
        Assert.NotEqual(a, new EquatableArray<string>(new[] { "Up", "Down", "Out" }));
        Assert.False(a.Equals((object)"Up"));
    }

    [Fact]
    public void DefaultEqualsEmpty()
    {
        EquatableArray<string> empty = default;
        Assert.Equal(EquatableArray<string>.Empty, empty);
        Assert.Equal(EquatableArray<string>.Empty.GetHashCode(), empty.GetHashCode());
        Assert.Empty(empty);
        Assert.True(empty.Count == 0);
    }

    [Fact]
    public void CopiesItsInput()
    {
        var source = new List<string> { "Up" };
        var array = new EquatableArray<string>(source);
        source.Add("Down");
        Assert.Equal(new[] { "Up" }, array.ToArray());
    }

    [Fact]
    public void RecordsHoldingArraysCompareByValue()
    {
        HierarchyInfo Make() => new("Demo.Outer+Mlp", "Demo",
            new[] { new TypeInfo("Mlp", "class"), new TypeInfo("Outer", "class") }.ToEquatableArray());
        Assert.Equal(Make(), Make());
        Assert.Equal(Make().GetHashCode(), Make().GetHashCode());
        Assert.NotEqual(Make(), Make() with { Hierarchy = new[] { new TypeInfo("Mlp", "class") }.ToEquatableArray() });
        Assert.Equal("Demo.Outer.Mlp", Make().DisplayName);
        Assert.Equal("Demo.Outer+Mlp.g.cs", Make().HintName);
    }
}
