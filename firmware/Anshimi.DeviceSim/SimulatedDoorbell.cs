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
/// flash directory and broker session; with the firmware options, also its loader and update client, and a restart the
/// client asks for starts the doorbell again from its flash.
/// </summary>
public sealed class SimulatedDoorbell : IAsyncDisposable
{
    public const string Profile = "doorbell";

    private readonly string _statePath;
    private readonly ISchedulingClock _clock;
    private readonly Action<Exception> _onError;
    private readonly DoorbellConfig _config;
    private readonly SimulatedFirmwareOptions? _firmware;
    private readonly byte[]? _factoryRelease;
    private readonly Lock _gate = new();
    private SmartDoorbell _doorbell;
    private DeviceLoop _loop;
    private DeviceUpdates? _updates;

    /// <param name="firmware">With a factory release for the doorbell's board, it runs the loader and its two slots on its simulated flash and takes updates.</param>
    public SimulatedDoorbell(DeviceRecord record, string stateRoot, ISchedulingClock clock, MqttLink link, Action<Exception> onError, Action<DoorbellConfig>? configure = null, SimulatedFirmwareOptions? firmware = null)
    {
        Record = record;
        Link = link;
        _clock = clock;
        _onError = onError;
        _statePath = Path.Combine(stateRoot, record.DeviceId);
        Parts = new SimulatedDoorbellParts(clock, new SimulatedCamera(record.NumericId, clock));
        _config = new DoorbellConfig(record.NumericId, record.Key);
        configure?.Invoke(_config);
        _firmware = firmware;
        _factoryRelease = firmware?.FactoryReleaseFor(DeviceUpdates.BoardOf(Profile), Profile);
        (_doorbell, _loop, _updates) = Boot();
    }

    public DeviceRecord Record { get; }

    public MqttLink Link { get; }

    public SimulatedDoorbellParts Parts { get; }

    /// <summary>The firmware running now (a restart replaces it).</summary>
    public SmartDoorbell Doorbell
    {
        get
        {
            lock (_gate)
            {
                return _doorbell;
            }
        }
    }

    /// <summary>The doorbell's loader and update client, when it runs them.</summary>
    public DeviceUpdates? Updates
    {
        get
        {
            lock (_gate)
            {
                return _updates;
            }
        }
    }

    public void Start()
    {
        Link.Start();
        lock (_gate)
        {
            _loop.Start();
            _updates?.Start();
        }
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
            Firmware = Updates?.Status,
        };
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _loop.Dispose();
            _updates?.Dispose();
        }

        await Link.DisposeAsync();
    }

    // The flash (events, snapshots, counters) carries everything over a restart; only RAM starts afresh. An event not yet
    // acked at stage 1 holds the switch. A snapshot in flight does not: it is in flash and goes out again after the restart.
    private (SmartDoorbell Doorbell, DeviceLoop Loop, DeviceUpdates? Updates) Boot()
    {
        var storage = new FlashStorage(_statePath);
        SmartDoorbell doorbell = Parts.PowerOn(_config, storage, Link, new PlatformHmacSha256(), new SeededRandom());
        var loop = new DeviceLoop("doorbell-" + Record.DeviceId, doorbell.Tick, onError: _onError);
        DeviceUpdates? updates = _firmware is null || _factoryRelease is null
            ? null
            : new DeviceUpdates(Record, _statePath, Link, _clock, _firmware, _factoryRelease, () => doorbell.PendingEventCount > 0, Restart, _onError, new PowerCut());
        return (doorbell, loop, updates);
    }

    /// <summary>The chip starts again: a new doorbell on the same flash, parts and broker session.</summary>
    private void Restart()
    {
        lock (_gate)
        {
            _loop.Dispose();
            _updates?.Dispose();
            (_doorbell, _loop, _updates) = Boot();
            _loop.Start();
            _updates?.Start();
        }
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
