using Anshimi.Ble;
using Anshimi.Ble.Simulation;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Ota;
using Anshimi.Firmware.Streetlight;
using Anshimi.Gateway.Ble;
using Anshimi.Gateway.Firmware;
using Anshimi.Gateway.Health;
using Anshimi.Gateway.Tests.Ble;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Releases;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.Gateway.Tests.Firmware;

/// <summary>A signed streetlight release made by the release tool's own packer, in 256-byte chunks.</summary>
public sealed class LightRelease
{
    public LightRelease(ReleaseKey key, string version, int size, SimulatedImageBehaviour behaviour = SimulatedImageBehaviour.Normal)
    {
        byte[] image = SimulatedApplicationStarter.ImageText("Anshimi.Streetlight " + version, behaviour, size);
        File = ReleasePacker.Pack(
            new ReleaseDescription(ReleaseVersion.Parse(version)!, ReleaseVersion.Zero, ReleaseVersion.Zero, ["streetlight"], ["streetlight"], "Anshimi.Streetlight.Program", 256),
            [new ReleaseAssembly("Anshimi.Streetlight.pe", image)],
            key,
            DateTimeOffset.UnixEpoch.AddDays(20000));
        Parsed = ReleaseFile.Read(File)!;
        Manifest = ReleaseManifest.Read(Parsed.ManifestBytes)!;
        Id = Convert.ToHexStringLower(ReleaseManifest.ReleaseIdOf(Parsed.ManifestBytes, new Protocol.Security.Sha256()));
    }

    public byte[] File { get; }

    public ReleaseFile Parsed { get; }

    public ReleaseManifest Manifest { get; }

    public string Id { get; }

    public byte[] Chunk(int index) => Parsed.Image[(index * Manifest.ChunkSize)..((index * Manifest.ChunkSize) + Manifest.ChunkLength(index))];
}

/// <summary>The firmware's clock on the gateway's virtual time.</summary>
public sealed class TimeProviderClock(TimeProvider time) : IClock
{
    private readonly long _start = time.GetTimestamp();

    public DateTime UtcNow => time.GetUtcNow().UtcDateTime;

    public long MonotonicMs => (long)time.GetElapsedTime(_start).TotalMilliseconds;
}

/// <summary>
/// A streetlight's radio on the gateway's <see cref="SimulatedAirspace"/>: what the firmware advertises goes on air at its
/// address and repeats on the airspace's clock; what the airspace delivers reaches the firmware's handlers.
/// </summary>
public sealed class AirspaceRadio : IBleRadio
{
    private readonly SimulatedBleTransport _transport;
    private AdvertisementReceivedHandler? _received;

    public AirspaceRadio(SimulatedBleTransport transport)
    {
        _transport = transport;
        _transport.AdvertisementReceived += (_, report) => _received?.Invoke(report.Data, report.Data.Length, report.Rssi);
    }

    public event AdvertisementReceivedHandler AdvertisementReceived
    {
        add => _received += value;
        remove => _received -= value;
    }

    public bool Advertise(byte[] data, int length, int intervalMs)
    {
        _transport.SetAdvertisingAsync(data.AsMemory(0, length), TimeSpan.FromMilliseconds(intervalMs), CancellationToken.None).GetAwaiter().GetResult();
        return true;
    }

    public void StopAdvertising() => _transport.ClearAdvertisingAsync(CancellationToken.None).GetAwaiter().GetResult();

    public bool StartScanning()
    {
        _transport.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None).GetAwaiter().GetResult();
        return true;
    }

    public void StopScanning() => _transport.StopScanningAsync(CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>A chip reset: the firmware that listened is gone and nothing is advertised.</summary>
    public void Reset()
    {
        _received = null;
        StopAdvertising();
    }
}

/// <summary>
/// One streetlight as it runs on its pole: the real <see cref="StreetlightController"/> and its loader and update stack
/// (<see cref="StreetlightUpdates"/>) on a real flash directory, on the gateway's simulated air. Only the lamp, the
/// sensors and the start of the slot's image are simulated.
/// </summary>
public sealed class FirmwareLight
{
    private readonly StreetlightConfig _config;
    private readonly SimulatedBleTransport _transport;
    private readonly IClock _clock;
    private readonly ReleaseKeys _keys;
    private readonly string _directory;

    public FirmwareLight(TestDevice device, SimulatedBleTransport transport, TimeProvider time, ReleaseKeys keys, byte[] factoryRelease)
    {
        _config = new StreetlightConfig(device.Id, device.Key, 37.5445, 127.0700);
        _transport = transport;
        _clock = new TimeProviderClock(time);
        _keys = keys;
        _directory = GatewayHarness.CreateDirectory();
        SimulatedLoader.InstallFactory(factoryRelease, new FlashFiles(_directory, 4 * 1024 * 1024), new FlashStorage(_directory));
        Boot();
    }

    public uint Id => _config.LightId;

    public StreetlightController Controller { get; private set; } = null!;

    public StreetlightUpdates Updates { get; private set; } = null!;

    public AirspaceRadio Radio { get; private set; } = null!;

    /// <summary>Boots since the light was installed (power cuts and the restarts its updates asked for).</summary>
    public int Boots { get; private set; }

    /// <summary>What the light's flash says it runs.</summary>
    public LoaderRecord Loader => LoaderRecord.Read(new FlashStorage(_directory))!;

    public UpdateClientSettings ClientSettings { get; } = new() { TrialTimeoutMs = 120_000 };

    public void Tick()
    {
        Controller.Tick();
        Updates.Tick();
        if (Updates.RestartRequested)
        {
            Boot();
        }
    }

    /// <summary>The mains go away and come back: everything in RAM is lost, the flash stays.</summary>
    public void PowerCut() => Boot();

    private void Boot()
    {
        Radio?.Reset();
        Boots++;
        Radio = new AirspaceRadio(_transport);
        var records = new FlashStorage(_directory);
        var lamp = new SimulatedLampDriver();
        var mac = new PlatformHmacSha256();
        Controller = new StreetlightController(_config, _clock, lamp.Dimmer, lamp.Cutoff, new SimulatedAnalogInput(0.5), lamp.CurrentSense, Radio, new NoWatchdog(), records, mac);
        StreetlightController controller = Controller;
        Updates = new StreetlightUpdates(
            _config, Radio, _clock, records, new FlashFiles(_directory, 4 * 1024 * 1024), _keys, mac,
            StreetlightUpdates.HoldOf(() => controller), ClientSettings, new CarouselReceiverSettings());
    }

    private sealed class NoWatchdog : IWatchdog
    {
        public void Feed()
        {
        }
    }
}

/// <summary>
/// The gateway's real services on the simulated air (<see cref="BleGateway"/>) with streetlights running their own
/// firmware, and the cloud's side of a firmware offer played through the gateway's command handling: bindings receipted,
/// the offer sent, every <c>firmware-fetch</c> answered with its part.
/// </summary>
public sealed class CarouselRig : IAsyncDisposable
{
    private readonly HashSet<int> _answered = [];

    private CarouselRig(BleGateway gateway, ReleaseKey key)
    {
        Gateway = gateway;
        Key = key;
        Factory = new LightRelease(key, "1.0.0", 700);
        Keys = new ReleaseKeys([key.PublicKey]);
    }

    public BleGateway Gateway { get; }

    public ReleaseKey Key { get; }

    public ReleaseKeys Keys { get; }

    public LightRelease Factory { get; }

    public List<FirmwareLight> Lights { get; } = [];

    public LightRelease? Offered { get; private set; }

    public FakeTimeProvider Time => Gateway.Harness.Time;

    public LightCarousel Carousel => Gateway.Harness.Get<LightCarousel>();

    public static async Task<CarouselRig> StartAsync(int lights)
    {
        BleGateway gateway = await BleGateway.StartAsync(lights, radio => radio.Dwell = TimeSpan.FromMilliseconds(200));
        var rig = new CarouselRig(gateway, ReleaseKey.Generate());

        // The harness starts only the gateway's startup; the distribution runs as in the service, on the virtual clock.
        await gateway.Harness.Get<Anshimi.Gateway.Firmware.FirmwareDistribution>().StartAsync(CancellationToken.None);
        foreach (TestDevice device in gateway.Lights)
        {
            rig.Lights.Add(new FirmwareLight(device, gateway.Air.Join(BleGateway.AddressOf(device)), gateway.Harness.Time, rig.Keys, rig.Factory.File));
        }

        // The cloud receipts every binding, so the gateway may speak of the devices' updates.
        await gateway.Harness.Get<DeviceStatusReporter>().ReportAsync(CancellationToken.None);
        foreach (TestDevice device in gateway.Harness.Devices)
        {
            await gateway.Harness.Commands.HandleAsync(EnvelopeSerializer.Serialize(new DeviceBoundReceiptEnvelope(DeviceIdText.Format(device.Id))), CancellationToken.None);
        }

        return rig;
    }

    /// <summary>The cloud offers <paramref name="release"/> to the lights.</summary>
    public async Task OfferAsync(LightRelease release, IEnumerable<FirmwareLight> lights, TimeSpan? expiresIn = null)
    {
        Offered = release;
        var offer = new FirmwareOfferEnvelope(
            "r-lights", release.Id, release.Parsed.ManifestBytes, Convert.ToHexStringLower(release.Parsed.Signature),
            [.. lights.Select(l => DeviceIdText.Format(l.Id))], Time.GetUtcNow() + (expiresIn ?? TimeSpan.FromHours(2)));
        await Gateway.Harness.Commands.HandleAsync(EnvelopeSerializer.Serialize(offer), CancellationToken.None);
    }

    public Task SendAsync(Envelope envelope) => Gateway.Harness.Commands.HandleAsync(EnvelopeSerializer.Serialize(envelope), CancellationToken.None);

    /// <summary>Every <c>firmware-state</c> the gateway sent upstream, in order.</summary>
    public IReadOnlyList<FirmwareStateEnvelope> States() =>
        [.. Gateway.Harness.Mqtt.PublishedTo(GatewayHarness.EventsTopic).Select(m => m.ParseEnvelope()).OfType<FirmwareStateEnvelope>()];

    public IReadOnlyList<FirmwareStateEnvelope> StatesOf(FirmwareLight light) => [.. States().Where(s => s.DeviceId == DeviceIdText.Format(light.Id))];

    public string? LastStateOf(FirmwareLight light) => StatesOf(light).LastOrDefault()?.State;

    /// <summary>
    /// Plays the radio loop, the lights' loops and the cloud for <paramref name="duration"/> of virtual time, or until
    /// <paramref name="until"/> holds: every dwell the gateway steps, in between the air is pumped, the lights tick and the
    /// gateway handles what it heard.
    /// </summary>
    public async Task RunAsync(TimeSpan duration, Func<bool>? until = null, Action? eachDwell = null)
    {
        BleRadio radio = Gateway.Radio;
        TimeSpan dwell = Gateway.Harness.Get<IOptions<BleOptions>>().Value.Dwell;
        DateTimeOffset end = Time.GetUtcNow() + duration;
        while (Time.GetUtcNow() < end && until?.Invoke() != true)
        {
            await radio.StepAsync(CancellationToken.None);
            for (TimeSpan spent = TimeSpan.Zero; spent < dwell; spent += BleGateway.Slice)
            {
                Time.Advance(BleGateway.Slice);
                foreach (FirmwareLight light in Lights)
                {
                    light.Tick();
                }

                Gateway.Air.Pump();
                await radio.ProcessPendingAsync(CancellationToken.None);
            }

            await AnswerFetchesAsync();
            eachDwell?.Invoke();
        }
    }

    public ValueTask DisposeAsync() => Gateway.DisposeAsync();

    private async Task AnswerFetchesAsync()
    {
        if (Offered is not { } release)
        {
            return;
        }

        IReadOnlyList<PublishedMessage> published = Gateway.Harness.Mqtt.PublishedTo(GatewayHarness.EventsTopic);
        for (int i = 0; i < published.Count; i++)
        {
            if (_answered.Contains(i) || published[i].ParseEnvelope() is not FirmwareFetchEnvelope fetch)
            {
                continue;
            }

            _answered.Add(i);
            await SendAsync(new FirmwarePartEnvelope(fetch.ReleaseId, fetch.Index, release.Chunk(fetch.Index)));
        }
    }
}
