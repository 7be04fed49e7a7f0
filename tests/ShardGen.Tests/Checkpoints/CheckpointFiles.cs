using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;

namespace ShardGen.Tests.Checkpoints;

/// <summary>Damages checkpoint files the ways real downloads break: a rewritten header, a cut-off tail, an edited config.</summary>
internal static class CheckpointFiles
{
    /// <summary>Rewrites the JSON header of <paramref name="path"/> (the data section stays byte for byte).</summary>
    public static void EditHeader(string path, Action<JsonObject> edit)
    {
        byte[] bytes = File.ReadAllBytes(path);
        long length = BitConverter.ToInt64(bytes, 0);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)length))!.AsObject();
        edit(header);
        ReplaceHeader(path, Encoding.UTF8.GetBytes(header.ToJsonString()), bytes.AsSpan(8 + (int)length).ToArray());
    }

    /// <summary>Writes raw header bytes (not necessarily JSON) in front of the file's data section.</summary>
    public static void ReplaceHeader(string path, byte[] header, byte[]? data = null)
    {
        if (data is null)
        {
            byte[] bytes = File.ReadAllBytes(path);
            data = bytes.AsSpan(8 + (int)BitConverter.ToInt64(bytes, 0)).ToArray();
        }
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. data]);
    }

    /// <summary>The tensor names of a header, in data order.</summary>
    public static string[] TensorsInOrder(string path)
    {
        string[] names = [];
        EditHeader(path, h => names = h.Where(p => p.Key != "__metadata__")
            .OrderBy(p => p.Value!["data_offsets"]![0]!.GetValue<long>()).Select(p => p.Key).ToArray());
        return names;
    }

    public static void EditConfig(string directory, Action<JsonObject> edit)
    {
        string path = Path.Combine(directory, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }
}
