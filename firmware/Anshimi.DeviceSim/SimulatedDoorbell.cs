using System.Text.Json.Serialization;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Doorbell;
using Anshimi.Firmware.Hal;
using Anshimi.Firmware.Host;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>
/// One smart doorbell (스마트초인종) of the fleet: the device logic on simulated parts — ring and emergency
/// buttons, PIR, tamper switch, chime and a deterministic camera seeded by the device id — with its own
/// flash directory and broker session.
/// </summary>
public sealed class SimulatedDoorbell : IAsyncDisposable
{
    public const string Profile = "doorbell";

    private readonly DeviceLoop _loop;

    public SimulatedDoorbell(DeviceRecord record, string stateRoot, ISchedulingClock clock, MqttLink link, Action<Exception> onError, Action<DoorbellConfig>? configure = null)
    {
        Record = record;
        Link = link;
        Parts = new SimulatedDoorbellParts(clock, new SimulatedCamera(record.NumericId, clock));
        var config = new DoorbellConfig(record.NumericId, record.Key);
        configure?.Invoke(config);
        var storage = new FlashStorage(Path.Combine(stateRoot, record.DeviceId));
        Doorbell = Parts.PowerOn(config, storage, link, new PlatformHmacSha256(), new SeededRandom());
        _loop = new DeviceLoop("doorbell-" + record.DeviceId, Doorbell.Tick, onError: onError);
    }

    public DeviceRecord Record { get; }

    public MqttLink Link { get; }

    public SimulatedDoorbellParts Parts { get; }

    public SmartDoorbell Doorbell { get; }

    public void Start()
    {
        Link.Start();
        _loop.Start();
    }

    public DoorbellStatus Status(string? districtName)
    {
        SmartDoorbell d = Doorbell;
        return new DoorbellStatus(Parts.Pir.Motion, d.Rings, d.LoiteringRaised, d.PendingSnapshotCount, d.SnapshotsDelivered, d.SnapshotsDropped)
        {
            Id = Record.DeviceId,
            Profile = Record.Profile,
            District = districtName is null ? Record.DistrictCode : districtName + " (" + Record.DistrictCode + ")",
            Address = Record.Site.Address,
            Connected = Link.IsConnected,
            Led = LedStateName.Of(d.LedState),
            PendingAlarms = d.PendingEventCount,
            AlarmsRaised = d.EventsRaised,
            NewestAlarmCounter = d.EmergencyCounter,
            RejectedDownlinks = d.Downlinks.RejectedTotal,
            LastError = Link.LastError,
        };
    }

    public async ValueTask DisposeAsync()
    {
        _loop.Dispose();
        await Link.DisposeAsync();
    }
}

/// <summary>A simulated doorbell as the control API reports it: what every device reports, plus motion, rings and snapshots.</summary>
public sealed record DoorbellStatus(
    [property: JsonPropertyName("motion")] bool Motion,
    [property: JsonPropertyName("rings")] int Rings,
    [property: JsonPropertyName("loitering")] int Loitering,
    [property: JsonPropertyName("pendingSnapshots")] int PendingSnapshots,
    [property: JsonPropertyName("snapshotsDelivered")] int SnapshotsDelivered,
    [property: JsonPropertyName("snapshotsDropped")] int SnapshotsDropped) : DeviceStatus;
