using Anshimi.Ble;
using Anshimi.Ble.Simulation;
using Anshimi.Gateway.Ble;
using Anshimi.Gateway.Lights;
using Anshimi.Gateway.Tests.Lights;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.Gateway.Tests.Ble;

/// <summary>
/// The gateway's real services (<see cref="GatewayHarness"/>) with its radio in a <see cref="SimulatedAirspace"/> on the
/// harness's virtual clock. <see cref="RunAsync"/> plays the radio loop deterministically: every dwell the gateway
/// steps, and in between the air is pumped and what the gateway heard is processed.
/// </summary>
public sealed class BleGateway : IAsyncDisposable
{
    public static readonly BleAddress GatewayAddress = new(0x02A500000001);
    public static readonly TimeSpan Slice = TimeSpan.FromMilliseconds(100);

    private readonly List<SimulatedStreetlight> _lights = [];

    private BleGateway(GatewayHarness harness, SimulatedAirspace air)
    {
        Harness = harness;
        Air = air;
    }

    public GatewayHarness Harness { get; private set; }

    public SimulatedAirspace Air { get; private set; }

    public TestDevice Bell => Harness.Devices[0];

    public TestDevice BatteryBell => Harness.Devices[1];

    public TestDevice[] Lights => Harness.Devices[2..];

    public BleRadio Radio => Harness.Get<BleRadio>();

    public BleIngestion Ingestion => Harness.Get<BleIngestion>();

    public LightFanout Fanout => Harness.Get<LightFanout>();

    public LightStore LightStore => Harness.Get<LightStore>();

    public string EventsTopic => Topics.GatewayEvents(GatewayHarness.GatewayId);

    public static async Task<BleGateway> StartAsync(int lights = 4, Action<BleOptions>? radio = null)
    {
        FakeTimeProvider time = GatewayHarness.NewClock();
        var air = new SimulatedAirspace(time);
        TestDevice[] devices =
        [
            new TestDevice(0x0000A1B2, 1),
            new TestDevice(0x0000B001, 31, "battery"),
            .. Enumerable.Range(0, lights).Select(i => new TestDevice(0x00001101u + (uint)i, (byte)(61 + i), LightFanout.LightProfile)),
        ];
        GatewayHarness harness = await GatewayHarness.StartAsync(GatewayHarness.CreateDirectory(), new FakeMqttClient(), time, devices, services =>
        {
            Configure(air)(services);
            if (radio is not null)
            {
                services.PostConfigure(radio);
            }
        });
        var gateway = new BleGateway(harness, air);
        Assert.True(await gateway.Radio.OpenAsync(CancellationToken.None));
        return gateway;
    }

    public static BleAddress AddressOf(TestDevice device) => new(0x02A500000000UL | device.Id);

    /// <summary>Puts a protocol-correct streetlight for <paramref name="device"/> into the air.</summary>
    public SimulatedStreetlight AddLight(TestDevice device)
    {
        var light = new SimulatedStreetlight(Air.Join(AddressOf(device)), device, Harness.Time);
        _lights.Add(light);
        return light;
    }

    /// <summary>A transport for a test's own device (a battery bell), scanning.</summary>
    public async Task<SimulatedBleTransport> JoinAsync(BleAddress address)
    {
        SimulatedBleTransport radio = Air.Join(address);
        await radio.StartScanningAsync(BleScanParameters.Continuous, CancellationToken.None);
        return radio;
    }

    /// <summary>Plays the radio loop for <paramref name="duration"/> of virtual time, or until <paramref name="until"/> holds.</summary>
    public async Task RunAsync(TimeSpan duration, Func<bool>? until = null)
    {
        TimeSpan dwell = Harness.Get<Microsoft.Extensions.Options.IOptions<BleOptions>>().Value.Dwell;
        DateTimeOffset end = Harness.Time.GetUtcNow() + duration;
        while (Harness.Time.GetUtcNow() < end && until?.Invoke() != true)
        {
            await Radio.StepAsync(CancellationToken.None);
            for (TimeSpan spent = TimeSpan.Zero; spent < dwell; spent += Slice)
            {
                Harness.Time.Advance(Slice);
                foreach (SimulatedStreetlight light in _lights)
                {
                    light.Tick();
                }

                Air.Pump();
                await Radio.ProcessPendingAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>Feeds one advertisement straight to the gateway's ingestion, as if heard now.</summary>
    public Task<string> HearAsync(byte[] advertisingData, BleAddress? from = null) =>
        Ingestion.HandleAsync(new BleAdvertisementReport(from ?? new BleAddress(0x02A5000000FF), -60, advertisingData, Harness.Time.GetUtcNow()), CancellationToken.None);

    /// <summary>Advertising data carrying <paramref name="frame"/> the way a device sends it (Flags, then manufacturer data).</summary>
    public static byte[] Advertisement(byte[] frame, bool withFlags = true)
    {
        var buffer = new byte[BleAdvertisement.MaxLegacyDataLength];
        int length = BleAdvertisement.Write(frame, 0, frame.Length, withFlags, buffer, 0);
        Assert.True(length > 0, "frame does not fit an advertisement");
        return buffer[..length];
    }

    public IReadOnlyList<LightOutcomeEnvelope> Outcomes() =>
        [.. Harness.Mqtt.PublishedTo(EventsTopic)
            .Select(m => EnvelopeSerializer.TryParse(m.Payload, out Envelope? envelope, out _) ? envelope : null)
            .OfType<LightOutcomeEnvelope>()];

    public long Metric(string result) => Harness.Metric("anshimi_gateway_ble_frames_total{result=\"" + result + "\"}");

    /// <summary>Restarts the gateway on the same files; the airspace (and the lights in it) stay.</summary>
    public async Task RestartAsync()
    {
        await Radio.StopAsync(CancellationToken.None);
        Harness = await Harness.RestartAsync();
        Assert.True(await Radio.OpenAsync(CancellationToken.None));
    }

    public async ValueTask DisposeAsync()
    {
        await Radio.StopAsync(CancellationToken.None);
        await Harness.DisposeAsync();
    }

    private static Action<IServiceCollection> Configure(SimulatedAirspace air) =>
        services => services.AddSingleton<IBleTransportFactory>(new AirspaceFactory(air));

    private sealed class AirspaceFactory(SimulatedAirspace air) : IBleTransportFactory
    {
        public IBleTransport? Create() => air.Join(GatewayAddress);
    }
}
