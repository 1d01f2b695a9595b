using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests;

/// <summary>A panic bell on a virtual clock with a fake link; <see cref="Reboot"/> keeps the storage.</summary>
public sealed class BellRig
{
    public const uint DeviceId = 0x00A1B2C3;
    public const int TickMs = 10;

    public static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    private readonly FrameCodec _codec = new(new HmacSha256());
    private uint _downlinkCounter;

    public BellRig(Action<BellConfig>? configure = null, MemoryDeviceStorage? storage = null)
    {
        Configure = configure;
        Storage = storage ?? new MemoryDeviceStorage();
        Clock = new VirtualClock();
        Link = new FakeMqttLink(Clock);
        Button = new SimulatedButton(Clock);
        Led = new SimulatedLed(Clock);
        Bell = Build();
    }

    public Action<BellConfig>? Configure { get; }

    public MemoryDeviceStorage Storage { get; }

    public VirtualClock Clock { get; }

    public FakeMqttLink Link { get; }

    public SimulatedButton Button { get; }

    public SimulatedLed Led { get; }

    public PanicBell Bell { get; private set; }

    public string Uplink => Topics.DeviceUplink(DeviceId);

    public string Downlink => Topics.DeviceDownlink(DeviceId);

    public IEnumerable<Frame> Alarms => Decoded().Where(f => f.Type == FrameType.Alarm);

    public IEnumerable<Frame> Heartbeats => Decoded().Where(f => f.Type == FrameType.Heartbeat);

    /// <summary>
    /// Power cut: a new bell on the same flash and the same pin. The old bell's message handler is
    /// detached with the old link; it still hears the button but is never ticked again.
    /// </summary>
    public void Reboot()
    {
        Link.Reset();
        Bell = Build();
    }

    /// <summary>Advances the clock in ticks, ticking the bell each time.</summary>
    public void Run(long ms)
    {
        for (long t = 0; t < ms; t += TickMs)
        {
            Clock.Advance(TickMs);
            Bell.Tick();
        }
    }

    /// <summary>Ticks the bell until the clock reaches <paramref name="atMs"/> (a stalled tick may overshoot it).</summary>
    public void RunUntil(long atMs)
    {
        while (Clock.MonotonicMs < atMs)
        {
            Clock.Advance(Math.Min(TickMs, atMs - Clock.MonotonicMs));
            Bell.Tick();
        }
    }

    /// <summary>A deliberate press held for <paramref name="holdMs"/>, then the bell run until release is seen.</summary>
    public void Press(int holdMs = 2000)
    {
        Button.Press(holdMs);
        Run(holdMs + 100);
    }

    public Frame Decode(byte[] bytes)
    {
        FrameReadResult result = _codec.Decode(bytes, 0, bytes.Length, Key);
        Assert.True(result.IsOk, "uplink frame does not verify: " + FrameErrorName.Of(result.Error));
        return result.Frame!;
    }

    public byte[] Ack(uint alarmCounter, AckStage stage, byte[]? key = null, uint? downlinkCounter = null)
    {
        uint counter = downlinkCounter ?? ++_downlinkCounter;
        return _codec.Encode(Frame.Ack(DeviceId, counter, alarmCounter, stage), key ?? Key);
    }

    public void DeliverAck(uint alarmCounter, AckStage stage) => Link.Deliver(Downlink, Ack(alarmCounter, stage));

    private IEnumerable<Frame> Decoded() => Link.Published.Select(p => Decode(p.Payload)).ToList();

    private PanicBell Build()
    {
        var config = new BellConfig(DeviceId, Key);
        Configure?.Invoke(config);
        return new PanicBell(config, Clock, Button, Led, Storage, Link, new HmacSha256(), new NoJitter());
    }
}
