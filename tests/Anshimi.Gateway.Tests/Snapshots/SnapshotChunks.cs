using System.Buffers.Binary;
using System.Security.Cryptography;
using Anshimi.Protocol;

namespace Anshimi.Gateway.Tests.Snapshots;

/// <summary>Builds a doorbell's snapshot chunk frames the way protocol/README.md §3 lays them out.</summary>
public static class SnapshotChunks
{
    public const ushort Loitering = 150;
    public const ushort Ring = 901;

    /// <summary>A deterministic test image of <paramref name="length"/> bytes.</summary>
    public static byte[] Image(int length, int seed = 1) =>
        Enumerable.Range(0, length).Select(i => (byte)((i * 31) + seed)).ToArray();

    /// <summary>Signed chunks 0…n−1 of <paramref name="image"/>, counters from <paramref name="firstCounter"/>.</summary>
    public static List<byte[]> For(TestDevice device, uint snapshotId, uint firstCounter, byte[] image, ushort code = Loitering, byte qualifier = ContactIdQualifier.NewEvent, ushort zone = 3) =>
        Frames(device, snapshotId, firstCounter, image, code, qualifier, zone).Select(device.Sign).ToList();

    public static List<Frame> Frames(TestDevice device, uint snapshotId, uint firstCounter, byte[] image, ushort code = Loitering, byte qualifier = ContactIdQualifier.NewEvent, ushort zone = 3)
    {
        var manifest = new byte[FramePayloads.SnapshotManifestLength];
        BinaryPrimitives.WriteUInt32BigEndian(manifest, (uint)image.Length);
        SHA256.HashData(image).CopyTo(manifest, 4);
        int dataChunks = (image.Length + FramePayloads.MaxSnapshotDataLength - 1) / FramePayloads.MaxSnapshotDataLength;
        ushort count = (ushort)(1 + dataChunks);
        var frames = new List<Frame>
        {
            FramePayloads.SnapshotChunk(device.Id, firstCounter, code, qualifier, zone, snapshotId, 0, count, manifest, 0, manifest.Length),
        };
        for (int i = 0; i < dataChunks; i++)
        {
            int offset = i * FramePayloads.MaxSnapshotDataLength;
            int length = Math.Min(FramePayloads.MaxSnapshotDataLength, image.Length - offset);
            frames.Add(FramePayloads.SnapshotChunk(device.Id, firstCounter + 1 + (uint)i, code, qualifier, zone, snapshotId, (ushort)(i + 1), count, image, offset, length));
        }

        return frames;
    }
}
