using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests.Bells;

/// <summary>
/// A version-2 home bell on a virtual clock and a fake broker link, on any flash (memory or the device apps' adapter with
/// staged power cuts), with the gateway's side played by the protocol's own codec and floor: it opens what the bell
/// publishes, keeps a receiver's epoch and counter floor (<see cref="EpochCounterFloor"/>) and seals acks and re-keys under
/// the bell's downlink keys. <see cref="Reboot"/> keeps the flash.
/// </summary>
public sealed class RekeyBell
{
    public const uint DeviceId = 0x00A1B2C4;
    public const int TickMs = 10;

    public static readonly byte[] Key = Enumerable.Range(40, 32).Select(i => (byte)i).ToArray();

    private readonly FrameCodecV2 _codec = new(new HmacSha256());
    private readonly FrameKeySet _uplinkKeys = new(new HmacSha256(), Key, 0);
    private readonly FrameKeySet _downlinkKeys = new(new HmacSha256(), Key, 0);
    private int _read;

    private readonly int _heartbeatMs;

    public RekeyBell(IDeviceStorage storage, int heartbeatMs = 1000)
    {
        _heartbeatMs = heartbeatMs;
        Storage = storage;
        Clock = new VirtualClock();
        Link = new FakeMqttLink(Clock);
        Button = new SimulatedButton(Clock);
        Bell = Build();
    }

    public IDeviceStorage Storage { get; }

    public VirtualClock Clock { get; }

    public FakeMqttLink Link { get; }

    public SimulatedButton Button { get; }

    public PanicBell Bell { get; private set; }

    /// <summary>Every distinct frame the bell published, opened, in order (a resend once).</summary>
    public List<(byte[] Bytes, Frame Frame)> Sent { get; } = [];

    /// <summary>The gateway's downlink counter for the bell.</summary>
    public uint DownlinkCounter { get; private set; }

    /// <summary>Writes the bell's counter record as flash would hold it: (epoch, reserved-until) — a bell that has already sent that much.</summary>
    public static void SeedCounter(IDeviceStorage storage, byte epoch, uint reservedUntil)
    {
        var record = new byte[EpochCounterFloor.RecordLength];
        EpochCounterFloor.WriteRecord(epoch, reservedUntil, record, 0);
        Assert.True(storage.Write(FrameCounter.RecordName, record));
    }

    public void Reboot()
    {
        Link.Reset();
        Bell = Build();
    }

    public void Run(long ms)
    {
        for (long t = 0; t < ms; t += TickMs)
        {
            Clock.Advance(TickMs);
            Bell.Tick();
            Collect();
        }
    }

    /// <summary>Ticks until <paramref name="done"/> holds, at most <paramref name="maxMs"/>.</summary>
    public void RunUntil(Func<bool> done, long maxMs = 120_000)
    {
        long until = Clock.MonotonicMs + maxMs;
        while (!done())
        {
            Assert.True(Clock.MonotonicMs < until, "not reached within " + maxMs + " ms");
            Run(TickMs);
        }
    }

    public void Press()
    {
        Button.Press(2000);
        Run(2100);
    }

    /// <summary>The gateway's stage-1 ack for <paramref name="alarmCounter"/>, under a fresh downlink counter.</summary>
    public void DeliverAck(uint alarmCounter)
    {
        var payload = new byte[FrameCodec.AckPayloadLength];
        BigEndian.WriteUInt32(payload, 0, alarmCounter);
        payload[4] = (byte)AckStage.Received;
        Link.Deliver(Topics.DeviceDownlink(DeviceId), Downlink(FrameType.Ack, payload));
    }

    /// <summary>The gateway's re-key to <paramref name="epoch"/> (type 8), under a fresh downlink counter; returns the frame.</summary>
    public byte[] DeliverRekey(byte epoch)
    {
        byte[] frame = Downlink(FrameType.Rekey, [epoch]);
        Link.Deliver(Topics.DeviceDownlink(DeviceId), frame);
        return frame;
    }

    /// <summary>Opens an uplink as the gateway does: the id resolves under the bell's uplink id key and names the epoch.</summary>
    public Frame Open(byte[] bytes)
    {
        FrameReadResult result = _codec.Decode(bytes, 0, bytes.Length, FrameDirectionBit.Uplink, DeviceId, _uplinkKeys);
        Assert.True(result.IsOk, "uplink does not open: " + FrameErrorName.Of(result.Error));
        return result.Frame!;
    }

    private byte[] Downlink(FrameType type, byte[] payload)
    {
        var frame = new byte[FrameCodecV2.DownlinkFrameLength];
        _codec.Encode(type, ++DownlinkCounter, 0, 0, 0, payload, 0, payload.Length, _downlinkKeys, frame, 0);
        return frame;
    }

    /// <summary>Takes in what the bell published since the last look (also after a power cut stopped a tick).</summary>
    public void Collect()
    {
        for (; _read < Link.Published.Count; _read++)
        {
            byte[] bytes = Link.Published[_read].Payload;
            if (!Sent.Any(s => s.Bytes.SequenceEqual(bytes)))
            {
                Sent.Add((bytes, Open(bytes)));
            }
        }
    }

    private PanicBell Build()
    {
        _read = Link.Published.Count;
        var config = new BellConfig(DeviceId, Key) { HeartbeatIntervalMs = _heartbeatMs, CounterBlockSize = 4 };
        return new PanicBell(config, Clock, Button, new SimulatedLed(Clock), Storage, Link, new HmacSha256(), new NoJitter());
    }
}
