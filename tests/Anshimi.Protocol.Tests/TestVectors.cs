using System.Text.Json;

namespace Anshimi.Protocol.Tests;

/// <summary>The shared vectors in protocol/vectors/frames.json, produced by an independent encoder.</summary>
public static class TestVectors
{
    private static readonly Lazy<JsonDocument> Document = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "frames.json"))));

    public static IEnumerable<object[]> Names(string? expect = null, bool valid = true) =>
        Document.Value.RootElement.GetProperty("vectors").EnumerateArray()
            .Where(v => (v.GetProperty("expect").GetString() == "ok") == valid)
            .Where(v => expect is null || v.GetProperty("expect").GetString() == expect)
            .Select(v => new object[] { v.GetProperty("name").GetString()! });

    public static JsonElement Get(string name) =>
        Document.Value.RootElement.GetProperty("vectors").EnumerateArray().Single(v => v.GetProperty("name").GetString() == name);

    public static byte[] Key(string keyName) =>
        Convert.FromHexString(Document.Value.RootElement.GetProperty("keys").GetProperty(keyName).GetString()!);

    /// <summary>Names of the version-2 vectors (protocol/README.md §10), valid or not.</summary>
    public static IEnumerable<object[]> V2Names(bool valid) =>
        Document.Value.RootElement.GetProperty("v2").EnumerateArray()
            .Where(v => (v.GetProperty("expect").GetString() == "ok") == valid)
            .Select(v => new object[] { v.GetProperty("name").GetString()! });

    public static JsonElement GetV2(string name) =>
        Document.Value.RootElement.GetProperty("v2").EnumerateArray().Single(v => v.GetProperty("name").GetString() == name);

    /// <summary>The escort section (protocol/README.md §10.1): master secret, schedule, key records and frame vectors.</summary>
    public static JsonElement Escort => Document.Value.RootElement.GetProperty("escort");

    public static IEnumerable<object[]> EscortNames(bool valid) =>
        Escort.GetProperty("vectors").EnumerateArray()
            .Where(v => (v.GetProperty("expect").GetString() == "ok") == valid)
            .Select(v => new object[] { v.GetProperty("name").GetString()! });

    public static JsonElement GetEscort(string name) =>
        Escort.GetProperty("vectors").EnumerateArray().Single(v => v.GetProperty("name").GetString() == name);

    public static int Count => Document.Value.RootElement.GetProperty("vectors").GetArrayLength();
}
