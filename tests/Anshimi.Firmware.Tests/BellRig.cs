using Anshimi.Firmware.Bells;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests;

/// <summary>
/// A panic bell on a virtual clock with a fake link; <see cref="Reboot"/> keeps the storage. With a
/// profile, the bell gets that profile's configuration and simulated versions of its board's parts
/// (aux button, tamper switch, battery ADC, voice module on a UART, BLE radio on an in-process air,
/// deep sleep); a battery bell has no MQTT link at all. Its helpers (decode, acks) speak version 1, so the rig models
/// a bell not yet updated to version 2 unless a test configures <see cref="BellConfig.FrameVersion"/> = 2 and reads the
/// air itself (SealedAirTests, RekeyTests).
/// </summary>
public sealed class BellRig
{
    public const uint DeviceId = 0x00A1B2C3;
    public const int TickMs = 10;

    public static readonly byte[] Key = Enumerable.Range(1, 32).Select(i => (byte)i).ToArray();

    private readonly FrameCodec _codec = new(new HmacSha256());
    private uint _downlinkCounter;

    public BellRig(Action<BellConfig>? configure = null, MemoryDeviceStorage? storage = null, string? profile = null)
    {
        Configure = configure;
        Profile = profile;
        Storage = storage ?? new MemoryDeviceStorage();
        Clock = new VirtualClock();
        Link = new FakeMqttLink(Clock);
        Button = new SimulatedButton(Clock);
        AuxButton = new SimulatedButton(Clock);
        Led = new SimulatedLed(Clock);
        Air = new SimulatedBleAir(Clock);
        Radio = Air.CreateRadio("bell");
        Radio.AdvertisingChanged += (data, _) =>
        {
            if (data is not null)
            {
                Advertised.Add(data);
            }
        };
        Watchdog = new SimulatedWatchdog(Clock, new BellConfig(DeviceId, Key).WatchdogTimeoutMs);
        if (profile is not null)
        {
            SetBatteryRaw(BellProfiles.For(profile, DeviceId, Key).BatteryFullRaw);
        }

        Bell = Build(WakeCause.PowerOn, 0);
    }

    public string? Profile { get; }

    public SimulatedButton AuxButton { get; }

    /// <summary>Lid switch: active = open.</summary>
    public SimulatedContact Tamper { get; } = new();

    /// <summary>Mains sense: mains present.</summary>
    public SimulatedContact Mains { get; } = new(active: true);

    /// <summary>Battery ADC, starting at the profile's full reading.</summary>
    public SimulatedAnalogInput Battery { get; } = new(1.0);

    public SimulatedUartPort Uart { get; } = new();

    public Df2301qVoiceModule? Voice { get; private set; }

    public SimulatedBleAir Air { get; }

    public SimulatedBleRadio Radio { get; }

    /// <summary>Every advertisement the bell started, in order (each once, however often the radio repeats it).</summary>
    public List<byte[]> Advertised { get; } = [];

    public SimulatedSleepController Sleep { get; private set; } = new();

    public BellBoard? Board => Profile is null ? null : BellBoard.ForProfile(Profile);

    private bool HasLink => Board is not { HasWifi: false };

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
    public void Reboot(WakeCause wakeCause = WakeCause.PowerOn, long? wokeAtMs = null)
    {
        Link.Reset();
        Bell = Build(wakeCause, wokeAtMs ?? Clock.MonotonicMs);
    }

    /// <summary>Deep sleep as the bell asked for it: the clock runs on untouched until the timer wakes it.</summary>
    public void SleepUntilTimer()
    {
        Assert.True(Bell.Asleep, "the bell is not asleep");
        Clock.Advance(Sleep.RequestedSleepMs!.Value);
        Reboot(WakeCause.Timer);
    }

    /// <summary>A watchdog fed by the bell; expiring means the device restarts.</summary>
    public SimulatedWatchdog Watchdog { get; }

    /// <summary>Sets the battery ADC to <paramref name="raw"/> 12-bit counts, the unit of the profiles' thresholds.</summary>
    public void SetBatteryRaw(int raw) => Battery.Value = (double)raw / TroubleMonitor.BatteryFullScaleRaw;

    /// <summary>The frames the bell advertised, decoded and verified.</summary>
    public List<Frame> AdvertisedFrames() => Advertised.Select(adv =>
    {
        Assert.True(BleAdvertisement.TryFindFrame(adv, 0, adv.Length, out int offset, out int length), "advertisement without a frame");
        Assert.Equal(new byte[] { 2, BleAdvertisement.AdTypeFlags, BleAdvertisement.FlagsGeneralDiscoverableLeOnly }, adv[..3]);
        return Decode(adv.AsSpan(offset, length).ToArray());
    }).ToList();

    /// <summary>The gateway's ack over BLE: a flagless advertisement around the signed ack frame.</summary>
    public void BroadcastAck(uint alarmCounter, AckStage stage, byte[]? key = null, uint? downlinkCounter = null)
    {
        byte[] ack = Ack(alarmCounter, stage, key, downlinkCounter);
        var adv = new byte[31];
        int length = BleAdvertisement.Write(ack, 0, ack.Length, false, adv, 0);
        Assert.True(length > 0, "ack does not fit an advertisement");
        Air.Broadcast(adv, length);
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

    /// <summary>
    /// Contact bounce: the button toggles <paramref name="toggles"/> times, held first, 5 ms apart (faster
    /// than the debounce time), the bell ticked after each.
    /// </summary>
    public void Chatter(int toggles)
    {
        for (int i = 0; i < toggles; i++)
        {
            if (i % 2 == 0)
            {
                Button.Hold();
            }
            else
            {
                Button.Release();
            }

            Clock.Advance(5);
            Bell.Tick();
        }
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

    private IEnumerable<Frame> Decoded() => Link.Published.Where(p => p.Topic == Uplink).Select(p => Decode(p.Payload)).ToList();

    private PanicBell Build(WakeCause wakeCause, long wokeAtMs)
    {
        if (Profile is null)
        {
            var plain = new BellConfig(DeviceId, Key) { FrameVersion = FrameCodec.CurrentVersion };
            Configure?.Invoke(plain);
            return new PanicBell(plain, Clock, Button, Led, Storage, Link, new HmacSha256(), new NoJitter());
        }

        BellConfig config = BellProfiles.For(Profile, DeviceId, Key);
        config.FrameVersion = FrameCodec.CurrentVersion;
        Configure?.Invoke(config);
        BellBoard board = BellBoard.ForProfile(Profile);
        Sleep = new SimulatedSleepController(wakeCause, wokeAtMs);
        Voice = board.VoiceRx == BellBoard.None ? null : new Df2301qVoiceModule(Uart);
        var peripherals = new BellPeripherals
        {
            AuxButton = board.AuxPanic == BellBoard.None ? null : AuxButton,
            Tamper = board.Tamper == BellBoard.None ? null : Tamper,
            Mains = board.MainsSense == BellBoard.None ? null : Mains,
            Battery = board.BatterySense == BellBoard.None ? null : Battery,
            Voice = Voice,
            Radio = Radio,
            Sleep = Sleep,
            Watchdog = Watchdog,
        };
        return new PanicBell(config, Clock, Button, Led, Storage, HasLink ? Link : null, new HmacSha256(), new NoJitter(), peripherals);
    }
}
