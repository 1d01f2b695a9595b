using Anshimi.Firmware;
using Anshimi.Firmware.Doorbell;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>One bell of the fleet with its simulated button and LED and its own broker session.</summary>
public sealed class SimulatedDevice : IAsyncDisposable
{
    private readonly BellHost _host;

    public SimulatedDevice(DeviceRecord record, string stateRoot, ISchedulingClock clock, MqttLink link, Action<Exception> onError, Action<BellConfig>? configure = null)
    {
        Record = record;
        Link = link;
        Button = new SimulatedButton(clock);
        Led = new SimulatedLed(clock);
        var storage = new FileDeviceStorage(Path.Combine(stateRoot, record.DeviceId));
        var config = new BellConfig(record.NumericId, record.Key);
        configure?.Invoke(config);
        var bell = new PanicBell(config, clock, Button, Led, storage, link, new PlatformHmacSha256(), new SeededRandom());
        _host = new BellHost(bell, onError: onError);
    }

    public DeviceRecord Record { get; }

    public MqttLink Link { get; }

    public SimulatedButton Button { get; }

    public SimulatedLed Led { get; }

    public PanicBell Bell => _host.Bell;

    public void Start()
    {
        Link.Start();
        _host.Start();
    }

    public DeviceStatus Status(string? districtName)
    {
        PanicBell bell = Bell;
        return new DeviceStatus(
            Record.DeviceId,
            Record.Profile,
            districtName is null ? Record.DistrictCode : districtName + " (" + Record.DistrictCode + ")",
            Record.Site.Address,
            Link.IsConnected,
            LedStateName.Of(bell.LedState),
            bell.PendingAlarmCount,
            bell.AlarmsRaised,
            bell.NewestAlarmCounter,
            bell.RejectedForged + bell.RejectedReplayed + bell.RejectedMalformed + bell.DroppedDownlinks,
            Link.LastError);
    }

    public async ValueTask DisposeAsync()
    {
        _host.Dispose();
        await Link.DisposeAsync();
    }
}

/// <summary>Every bell of a fleet file running against a real broker on the host HAL.</summary>
public sealed class SimulatedFleet : IAsyncDisposable
{
    private readonly Dictionary<string, SimulatedDevice> _devices;

    private SimulatedFleet(IReadOnlyList<SimulatedDevice> devices, IReadOnlyList<SimulatedDoorbell> doorbells)
    {
        Devices = devices;
        Doorbells = doorbells;
        _devices = devices.ToDictionary(d => d.Record.DeviceId, StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyList<SimulatedDevice> Devices { get; }

    /// <summary>The fleet's devices with profile "doorbell".</summary>
    public IReadOnlyList<SimulatedDoorbell> Doorbells { get; }

    /// <param name="configure">Adjusts each bell's configuration (e.g. shorter timings in tests) before it starts.</param>
    /// <param name="configureDoorbell">The same for each doorbell.</param>
    public static SimulatedFleet Start(IEnumerable<DeviceRecord> records, string host, int port, string stateRoot, TextWriter log, Action<BellConfig>? configure = null, Action<DoorbellConfig>? configureDoorbell = null)
    {
        var clock = new SystemClock();
        var factory = new MosquittoClientFactory(message => log.WriteLine("mqtt: " + message));
        var devices = new List<SimulatedDevice>();
        var doorbells = new List<SimulatedDoorbell>();
        foreach (DeviceRecord record in records.Where(r => r.Profile == SimulatedDoorbell.Profile))
        {
            var link = new MqttLink(factory.Create(MqttLink.OptionsFor(record, host, port)), record.NumericId);
            var doorbell = new SimulatedDoorbell(record, stateRoot, clock, link, ex => log.WriteLine("[" + record.DeviceId + "] 오류 error: " + ex.Message), configureDoorbell);
            doorbell.Led.Changed += (_, change) => log.WriteLine("[" + record.DeviceId + "] LED " + SimJson.LedLabel(LedStateName.Of(change.State)));
            doorbells.Add(doorbell);
        }

        foreach (DeviceRecord record in records.Where(r => r.Profile != SimulatedDoorbell.Profile))
        {
            var link = new MqttLink(factory.Create(MqttLink.OptionsFor(record, host, port)), record.NumericId);
            var device = new SimulatedDevice(record, stateRoot, clock, link, ex => log.WriteLine("[" + record.DeviceId + "] 오류 error: " + ex.Message), configure);
            device.Led.Changed += (_, change) => log.WriteLine("[" + record.DeviceId + "] LED " + SimJson.LedLabel(LedStateName.Of(change.State)));
            devices.Add(device);
        }

        foreach (SimulatedDevice device in devices)
        {
            device.Start();
        }

        foreach (SimulatedDoorbell doorbell in doorbells)
        {
            doorbell.Start();
        }

        return new SimulatedFleet(devices, doorbells);
    }

    public SimulatedDevice? Find(string id) => _devices.GetValueOrDefault(id);

    public SimulatedDoorbell? FindDoorbell(string id) => Doorbells.FirstOrDefault(d => string.Equals(d.Record.DeviceId, id, StringComparison.OrdinalIgnoreCase));

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Devices.Select(d => d.DisposeAsync().AsTask()).Concat(Doorbells.Select(d => d.DisposeAsync().AsTask())));
    }
}
