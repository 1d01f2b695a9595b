using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Streetlight;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests.Streetlight;

/// <summary>
/// One streetlight on a virtual clock in a simulated alley: the light at (0, 0), a gateway radio 10 m away and the
/// walker's phone, with the light's key and its district's escort key.
/// </summary>
public sealed class StreetlightRig
{
    public const uint LightId = 0x5EED0001;
    public const int TickMs = 20;
    public const double SeoulLatitude = 37.5665;
    public const double SeoulLongitude = 126.9780;

    /// <summary>22:00 KST on 21 June 2025: night in Seoul.</summary>
    public static readonly DateTime Night = new(2025, 6, 21, 13, 0, 0, DateTimeKind.Utc);

    /// <summary>12:00 KST on 21 June 2025: broad daylight.</summary>
    public static readonly DateTime Noon = new(2025, 6, 21, 3, 0, 0, DateTimeKind.Utc);

    public static readonly byte[] Key = Enumerable.Range(0x40, 32).Select(i => (byte)i).ToArray();
    /// <summary>The light's district (광진구) and its escort key of epoch <see cref="Epoch"/>.</summary>
    public const ushort Area = 11215;
    public const byte Epoch = 7;
    public static readonly byte[] AreaKey = Enumerable.Range(0x80, 32).Select(i => (byte)i).ToArray();

    /// <summary>Another district (중랑구) and its key of the same epoch.</summary>
    public const ushort OtherArea = 11260;
    public static readonly byte[] OtherAreaKey = Enumerable.Range(0xC0, 32).Select(i => (byte)i).ToArray();

    /// <summary>How often the gateway and the phone repeat what they advertise.</summary>
    public const int AdvertisingIntervalMs = 500;

    private readonly FrameCodec _codec = new(new HmacSha256());
    private readonly EscortFrame _escortCodec = new(new HmacSha256());
    private uint _gatewayCounter;

    /// <param name="storage">The light's flash; by default in memory.</param>
    /// <param name="installEscortKey">Whether the light is given <see cref="AreaKey"/> at once (else: <see cref="InstallEscortKey"/>).</param>
    public StreetlightRig(DateTime startUtc, Action<StreetlightConfig>? configure = null, double ambient = 0.5, IDeviceStorage? storage = null, bool installEscortKey = true)
    {
        Storage = storage ?? new MemoryDeviceStorage();
        Clock = new VirtualClock(startUtc);
        Air = new SimulatedBleAir(Clock);
        // The rig's helpers (beacons read, commands signed) speak version 1: it models a light not yet updated unless a
        // test configures version 2 and speaks it itself (SealedLightTests).
        Config = new StreetlightConfig(LightId, Key, SeoulLatitude, SeoulLongitude) { FrameVersion = FrameCodec.CurrentVersion };
        configure?.Invoke(Config);
        Light = new SimulatedStreetlight(Config, Clock, Air.CreateRadio("light"), Storage, new HmacSha256(), ambient);
        Gateway = Air.CreateRadio("gateway", 10, 0);
        Phone = Air.CreateRadio("phone", 5, 0);
        Gateway.StartScanning();
        if (installEscortKey)
        {
            Assert.True(InstallEscortKey(Area, Epoch, AreaKey, changeoverEndMinute: 0));
        }
    }

    /// <summary>The district's keys of <see cref="Epoch"/>, as the cloud derives them.</summary>
    public static EscortKeySet Keys(ushort area = Area, byte epoch = Epoch, byte[]? key = null) =>
        new(new HmacSha256(), area, epoch, key ?? AreaKey);

    public VirtualClock Clock { get; }

    public SimulatedBleAir Air { get; }

    public StreetlightConfig Config { get; }

    public IDeviceStorage Storage { get; }

    public SimulatedStreetlight Light { get; }

    public StreetlightController Controller => Light.Controller;

    public SimulatedBleRadio Gateway { get; }

    public SimulatedBleRadio Phone { get; }

    public uint UnixMinute => (uint)((Clock.UtcNow - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerMinute);

    /// <summary>Runs the device loop for <paramref name="ms"/>: the clock moves a tick, the firmware ticks.</summary>
    public void Run(long ms)
    {
        for (long t = 0; t < ms; t += TickMs)
        {
            Clock.Advance(TickMs);
            Controller.Tick();
        }
    }

    /// <summary>Runs the loop and returns every output level it wrote, one per tick.</summary>
    public List<double> Watch(long ms)
    {
        var levels = new List<double>();
        for (long t = 0; t < ms; t += TickMs)
        {
            Clock.Advance(TickMs);
            Controller.Tick();
            levels.Add(Light.Lamp.Level);
        }

        return levels;
    }

    /// <summary>The gateway broadcasts a signed command for this light (flagless, as downlinks are) and returns the advertisement.</summary>
    public byte[] SendCommand(byte mode, ushort holdSeconds, byte[]? key = null, uint? counter = null, uint lightId = LightId)
    {
        uint c = counter ?? ++_gatewayCounter;
        byte[] frame = _codec.Encode(FramePayloads.Command(lightId, c, mode, holdSeconds), key ?? Key);
        byte[] advertisement = Advertisement(frame, withFlags: false);
        Gateway.Advertise(advertisement, advertisement.Length, AdvertisingIntervalMs);
        return advertisement;
    }

    /// <summary>The counter the gateway last signed a command with.</summary>
    public uint GatewayCounter => _gatewayCounter;

    /// <summary>
    /// What the gateway does when its light does not confirm a command (protocol/README.md §2): it signs the next one with
    /// the first counter of the next block, past the rest of the block a light refuses after a power cut.
    /// </summary>
    public void SkipToNextCommandBlock() => _gatewayCounter = CounterBlock.NextStart(_gatewayCounter, CounterBlock.LightCommand) - 1;

    /// <summary>Gives the light an escort key record, as its gateway delivers it (protocol/README.md §10.1).</summary>
    public bool InstallEscortKey(ushort area, byte epoch, byte[] key, uint changeoverEndMinute) =>
        Controller.InstallEscortKey(EscortKeyRecord.Encode(area, epoch, changeoverEndMinute, key), 0);

    /// <summary>
    /// The walker's phone advertises the escort frame the cloud sealed for <paramref name="unixMinute"/> (default: now)
    /// under <paramref name="keys"/> (default: the light's district, epoch <see cref="Epoch"/>).
    /// </summary>
    public byte[] Escort(uint sessionId, uint? unixMinute = null, EscortKeySet? keys = null)
    {
        EscortKeySet k = keys ?? Keys();
        byte[] frame = new byte[EscortFrame.Length];
        _escortCodec.Encode(unixMinute ?? UnixMinute, _escortCodec.AirId(k, sessionId), k, frame, 0);
        byte[] advertisement = Advertisement(frame, withFlags: true);
        Phone.Advertise(advertisement, advertisement.Length, AdvertisingIntervalMs);
        return advertisement;
    }

    /// <summary>The light's current beacon, checked under the light's key.</summary>
    public Frame Beacon()
    {
        byte[] data = Light.Radio.Advertising ?? throw new InvalidOperationException("the light advertises nothing");
        Assert.True(BleAdvertisement.TryFindFrame(data, 0, data.Length, out int offset, out int length));
        FrameReadResult result = _codec.Decode(data, offset, length, Key);
        Assert.True(result.IsOk, "beacon does not verify: " + FrameErrorName.Of(result.Error));
        Assert.Equal(FrameType.Beacon, result.Frame!.Type);
        return result.Frame;
    }

    public static byte[] Advertisement(byte[] frame, bool withFlags)
    {
        var buffer = new byte[BleAdvertisement.MaxLegacyDataLength];
        int length = BleAdvertisement.Write(frame, 0, frame.Length, withFlags, buffer, 0);
        Assert.True(length > 0);
        return buffer[..length];
    }
}
