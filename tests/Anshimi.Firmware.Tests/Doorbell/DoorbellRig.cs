using System.Security.Cryptography;
using Anshimi.Firmware.Doorbell;
using Anshimi.Firmware.Host;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests.Doorbell;

/// <summary>A smart doorbell on a virtual clock with a fake link and simulated parts; <see cref="Reboot"/> keeps the flash.</summary>
public sealed class DoorbellRig
{
    public const uint DeviceId = 0x00D0B311;
    public const int TickMs = 10;
    public const uint CameraSeed = 7;
    public const int ImageWidth = 96;
    public const int ImageHeight = 72;

    private readonly FrameCodec _codec = new(new HmacSha256());
    private readonly Action<DoorbellConfig>? _configure;
    private uint _downlinkCounter;

    public DoorbellRig(Action<DoorbellConfig>? configure = null)
    {
        _configure = configure;
        Clock = new VirtualClock();
        Link = new FakeMqttLink(Clock);
        Parts = new SimulatedDoorbellParts(Clock, new SimulatedCamera(CameraSeed, Clock, ImageWidth, ImageHeight));
        Doorbell = Build();
    }

    public static byte[] Key { get; } = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();

    public MemoryDeviceStorage Storage { get; } = new();

    public VirtualClock Clock { get; }

    public FakeMqttLink Link { get; }

    public SimulatedDoorbellParts Parts { get; }

    public SmartDoorbell Doorbell { get; private set; }

    public string Downlink => Topics.DeviceDownlink(DeviceId);

    public List<Frame> Frames => Link.Published.Select(p => Decode(p.Payload)).ToList();

    /// <summary>Distinct events published (resends of the same counter once), in order.</summary>
    public List<Frame> Events => EventFrames.DistinctBy(f => f.Counter).ToList();

    /// <summary>Every event frame published, resends included.</summary>
    public List<Frame> EventFrames => Frames.Where(f => f.Type == FrameType.Alarm).ToList();

    public List<Frame> Chunks => Frames.Where(f => f.Type == FrameType.SnapshotChunk).ToList();

    /// <summary>Power cut: a new doorbell on the same flash and pins; the old one is never ticked again.</summary>
    public void Reboot()
    {
        Link.Reset();
        Doorbell = Build();
    }

    public void Run(long ms)
    {
        for (long t = 0; t < ms; t += TickMs)
        {
            Clock.Advance(TickMs);
            Doorbell.Tick();
        }
    }

    public Frame Decode(byte[] bytes)
    {
        FrameReadResult result = _codec.Decode(bytes, 0, bytes.Length, Key);
        Assert.True(result.IsOk, "uplink frame does not verify: " + FrameErrorName.Of(result.Error));
        return result.Frame!;
    }

    public byte[] Ack(uint counter, AckStage stage, byte[]? key = null) =>
        _codec.Encode(Frame.Ack(DeviceId, ++_downlinkCounter, counter, stage), key ?? Key);

    public void DeliverAck(uint counter, AckStage stage) => Link.Deliver(Downlink, Ack(counter, stage));

    /// <summary>Acks every event published so far with stage Received, as the gateway would.</summary>
    public void AckEvents()
    {
        foreach (uint counter in Events.Select(e => e.Counter).Distinct())
        {
            DeliverAck(counter, AckStage.Received);
        }
    }

    /// <summary>
    /// Reassembles the snapshot from the chunks published, as the gateway does: every index present once,
    /// the manifest's length and SHA-256 matching. Null while incomplete or inconsistent.
    /// </summary>
    public static byte[]? Reassemble(IEnumerable<Frame> chunks, uint snapshotId)
    {
        var byIndex = new Dictionary<int, byte[]>();
        int count = 0;
        foreach (Frame chunk in chunks.Where(c => FramePayloads.SnapshotId(c) == snapshotId))
        {
            count = FramePayloads.ChunkCount(chunk);
            byIndex[FramePayloads.ChunkIndex(chunk)] = chunk.Payload[FramePayloads.SnapshotHeaderLength..];
        }

        if (count == 0 || Enumerable.Range(0, count).Any(i => !byIndex.ContainsKey(i)))
        {
            return null;
        }

        byte[] manifest = byIndex[0];
        byte[] image = Enumerable.Range(1, count - 1).SelectMany(i => byIndex[i]).ToArray();
        bool ok = image.Length == System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(manifest)
            && SHA256.HashData(image).AsSpan().SequenceEqual(manifest.AsSpan(4));
        return ok ? image : null;
    }

    private SmartDoorbell Build()
    {
        var config = new DoorbellConfig(DeviceId, Key)
        {
            LoiterMs = 20_000,
            MotionGapMs = 3_000,
            RearmQuietMs = 30_000,
            SnapshotAckTimeoutMs = 4_000,

            // The rig's helpers (decode, acks) speak version 1: it models a doorbell not yet updated.
            FrameVersion = FrameCodec.CurrentVersion,
        };
        _configure?.Invoke(config);
        return Parts.PowerOn(config, Storage, Link, new HmacSha256(), new NoJitter());
    }
}
