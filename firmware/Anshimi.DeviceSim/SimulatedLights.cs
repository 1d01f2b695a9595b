using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Anshimi.Firmware.Adapters;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Ota;
using Anshimi.Firmware.Streetlight;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>
/// One streetlight of the fleet on the in-process BLE air: its board (<see cref="SimulatedStreetlight"/>), its
/// loop, and a phone that can walk past it running the Anshimi app's return-home monitoring (귀가모니터링).
/// </summary>
public sealed class SimulatedLight : IAsyncDisposable
{
    /// <summary>The phone walks this far from the light: well inside the escort range.</summary>
    public const double WalkerDistanceMetres = 5;

    /// <summary>How often the walker's phone repeats its escort advertisement.</summary>
    public const int PhoneAdvertisingIntervalMs = 1000;

    private readonly StreetlightHost _host;
    private readonly SimulatedBleRadio _phone;
    private readonly AirspaceLink? _airspace;
    private readonly EscortKeySchedule _escortKeys;
    private readonly EscortFrame _codec = new(new PlatformHmacSha256());
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _walkLock = new();
    private Task _walk = Task.CompletedTask;
    private CancellationTokenSource? _walkCancel;

    /// <param name="airspace">The light's link to the gateway's airspace; null when no gateway listens.</param>
    public SimulatedLight(DeviceRecord record, SimulatedStreetlight light, SimulatedBleRadio phone, EscortKeySchedule escortKeys, Action<Exception> onError, AirspaceLink? airspace = null)
    {
        Record = record;
        Light = light;
        _phone = phone;
        _airspace = airspace;
        _escortKeys = escortKeys;
        _host = new StreetlightHost(light, onError: onError);
    }

    public DeviceRecord Record { get; }

    public SimulatedStreetlight Light { get; }

    public bool Walking { get; private set; }

    public void Start() => _host.Start();

    /// <summary>The walker's phone advertises <paramref name="advertisement"/> (what the app fetched) until the next walk or advertisement.</summary>
    public void PhoneAdvertises(byte[] advertisement) => _phone.Advertise(advertisement, advertisement.Length, PhoneAdvertisingIntervalMs);

    /// <summary>
    /// A walker with the app passes the light for <paramref name="duration"/>: the phone advertises the escort frame
    /// for the current minute, sealed for the light's district as the cloud seals it, and a fresh one each minute.
    /// </summary>
    public void Walk(TimeSpan duration)
    {
        lock (_walkLock)
        {
            _walkCancel?.Cancel();
            _walkCancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            CancellationToken token = _walkCancel.Token;
            uint session = (uint)RandomNumberGenerator.GetInt32(1, int.MaxValue);
            Walking = true;
            _walk = Task.Run(() => WalkAsync(session, duration, token), CancellationToken.None);
        }
    }

    public LightStatus Status(string? districtName)
    {
        var controller = Light.Controller;
        return new LightStatus(
            Record.DeviceId,
            Record.Profile,
            districtName is null ? Record.DistrictCode : districtName + " (" + Record.DistrictCode + ")",
            Record.Site.Address,
            ModeName(controller.Mode),
            Math.Round(controller.Level, 1),
            Math.Round(Light.Lamp.Level, 1),
            controller.LampFault,
            Light.Lamp.LampBroken,
            controller.NextCounter - 1,
            controller.BeaconsSent,
            controller.CommandsAccepted,
            controller.EscortAdvertsAccepted,
            new LightRejects(controller.RejectedForged, controller.RejectedReplayed, controller.RejectedStale, controller.RejectedWrongArea, controller.RejectedStaleEpoch, controller.RejectedMalformed),
            Light.Resets,
            Walking,
            Light.Updates is { } updates ? FirmwareStatus.Of(updates.Boot, updates.Client) : null);
    }

    public static string ModeName(byte mode) => mode switch
    {
        LightMode.Escort => "escort",
        LightMode.Emergency => "emergency",
        _ => "schedule",
    };

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await _walk;
        }
        catch (OperationCanceledException)
        {
            // The walk ended with the simulator.
        }

        _host.Dispose();
        if (_airspace is not null)
        {
            await _airspace.DisposeAsync();
        }

        _stopping.Dispose();
    }

    private async Task WalkAsync(uint session, TimeSpan duration, CancellationToken token)
    {
        DateTime until = DateTime.UtcNow + duration;
        try
        {
            // A light outside every district holds no escort key: no app would seal a frame for it.
            while (DateTime.UtcNow < until && Light.Controller.EscortArea != 0)
            {
                uint minute = (uint)(DateTime.UtcNow - DateTime.UnixEpoch).TotalMinutes;
                EscortKeySet keys = _escortKeys.SigningKeys(Light.Controller.EscortArea, minute);
                byte[] frame = new byte[EscortFrame.Length];
                _codec.Encode(minute, _codec.AirId(keys, session), keys, frame, 0);
                var advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
                int length = BleAdvertisement.Write(frame, 0, frame.Length, true, advertisement, 0);
                _phone.Advertise(advertisement, length, PhoneAdvertisingIntervalMs);
                TimeSpan toNextMinute = DateTime.UnixEpoch.AddMinutes(minute + 1) - DateTime.UtcNow;
                TimeSpan left = until - DateTime.UtcNow;
                await Task.Delay(toNextMinute < left ? toNextMinute : left > TimeSpan.Zero ? left : TimeSpan.Zero, token);
            }
        }
        finally
        {
            _phone.StopAdvertising();
            Walking = false;
        }
    }
}

/// <summary>One simulated streetlight as the control API reports it.</summary>
public sealed record LightStatus(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("profile")] string Profile,
    [property: JsonPropertyName("district")] string? District,
    [property: JsonPropertyName("address")] string Address,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("level")] double Level,
    [property: JsonPropertyName("lampOutput")] double LampOutput,
    [property: JsonPropertyName("lampFault")] bool LampFault,
    [property: JsonPropertyName("lampBroken")] bool LampBroken,
    [property: JsonPropertyName("beaconCounter")] uint BeaconCounter,
    [property: JsonPropertyName("beaconsSent")] int BeaconsSent,
    [property: JsonPropertyName("commandsAccepted")] int CommandsAccepted,
    [property: JsonPropertyName("escortAdvertsAccepted")] int EscortAdvertsAccepted,
    [property: JsonPropertyName("rejected")] LightRejects Rejected,
    [property: JsonPropertyName("watchdogResets")] int WatchdogResets,
    [property: JsonPropertyName("walkerPassing")] bool WalkerPassing,
    [property: JsonPropertyName("firmware")] FirmwareStatus? Firmware = null);

public sealed record LightRejects(
    [property: JsonPropertyName("forged")] int Forged,
    [property: JsonPropertyName("replayed")] int Replayed,
    [property: JsonPropertyName("stale")] int Stale,
    [property: JsonPropertyName("wrongArea")] int WrongArea,
    [property: JsonPropertyName("staleEpoch")] int StaleEpoch,
    [property: JsonPropertyName("malformed")] int Malformed);

/// <summary>Body of an accepted walk or lamp change.</summary>
public sealed record LightActionResult(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("seconds")] int? Seconds);

/// <summary>
/// The fleet's streetlights on one in-process BLE air (no IP network at the pole): positions on the air come from
/// the lights' coordinates, so lights near each other hear the same walker. With a gateway's airspace hub, each
/// light is also a participant there (<see cref="AirspaceLink"/>): the gateway hears its beacons and it hears the
/// gateway's commands.
/// </summary>
public static class StreetlightFleet
{
    public const string Profile = "streetlight";

    private const long DriveBytes = 4L * 1024 * 1024;

    /// <param name="escortMaster">The cloud's escort master secret; the simulator derives each light's district key from it.</param>
    /// <param name="report">Takes the lights' log lines (from their own threads).</param>
    /// <param name="firmware">With a factory release for the streetlight board, every light runs the loader on its flash and takes the gateway's carousel.</param>
    public static List<SimulatedLight> Create(IEnumerable<DeviceRecord> records, ISchedulingClock clock, string stateRoot, byte[] escortMaster, Action<string> report, System.Net.IPEndPoint? airspace = null, SimulatedFirmwareOptions? firmware = null)
    {
        byte[]? factoryRelease = firmware?.FactoryReleaseFor(StreetlightUpdates.Board, Profile);
        // The cloud bridge's default schedule (Escorts:KeyRotationPeriod, Escorts:KeyChangeover).
        var escortKeys = new EscortKeySchedule(escortMaster, TimeSpan.FromDays(1), TimeSpan.FromMinutes(10));
        var air = new SimulatedBleAir(clock);
        var lights = new List<SimulatedLight>();
        DeviceRecord[] all = [.. records];
        if (all.Length == 0)
        {
            return lights;
        }

        // A local plane around the first light, in metres: plenty for a district.
        double lat0 = all[0].Site.Latitude;
        double lon0 = all[0].Site.Longitude;
        double metresPerDegreeLon = 111_320 * Math.Cos(lat0 * Math.PI / 180);
        foreach (DeviceRecord record in all)
        {
            double x = (record.Site.Longitude - lon0) * metresPerDegreeLon;
            double y = (record.Site.Latitude - lat0) * 110_540;
            var config = new StreetlightConfig(record.NumericId, record.Key, record.Site.Latitude, record.Site.Longitude);
            SimulatedBleRadio radio = air.CreateRadio(record.DeviceId, x, y);
            AirspaceLink? link = airspace is null
                ? null
                : AirspaceLink.Join(radio, airspace, line => report("[" + record.DeviceId + "] " + line));
            string statePath = Path.Combine(stateRoot, record.DeviceId);
            var flash = new FlashStorage(statePath);
            var board = new SimulatedStreetlight(config, clock, radio, flash, new PlatformHmacSha256(), firmware: LoaderOf(firmware, factoryRelease, statePath, flash));
            if (link is null)
            {
                InstallEscortKeys(board, record, escortKeys);
            }

            board.WasReset += () => report("[" + record.DeviceId + "] 워치독 재시작 watchdog reset: lamp to full, firmware rebooted");
            SimulatedBleRadio phone = air.CreateRadio(record.DeviceId + "-walker", x + SimulatedLight.WalkerDistanceMetres, y);
            lights.Add(new SimulatedLight(record, board, phone, escortKeys, ex => report("[" + record.DeviceId + "] 오류 error: " + ex.Message), link));
        }

        return lights;
    }

    /// <summary>The light's loader on its flash directory, the factory release in slot a of a factory-fresh light; null without a release for its board.</summary>
    private static StreetlightFirmware? LoaderOf(SimulatedFirmwareOptions? firmware, byte[]? factoryRelease, string statePath, FlashStorage records)
    {
        if (firmware is null || factoryRelease is null)
        {
            return null;
        }

        var files = new FlashFiles(statePath, DriveBytes);
        if (SimulatedLoader.IsFactoryFresh(files, records))
        {
            SimulatedLoader.InstallFactory(factoryRelease, files, records);
        }

        return new StreetlightFirmware { Files = files, Keys = new ReleaseKeys([.. firmware.TrustedKeys]), Client = firmware.Settings, Carousel = firmware.Carousel };
    }

    /// <summary>
    /// Without a gateway's airspace nothing delivers escort keys (protocol §10.1): the simulator stands in for the gateway
    /// and gives the light its district's records of the previous and the current rotation, as the delivery would. Joined
    /// to a gateway, the light gets them over the air from the gateway instead. A light outside any district takes no escort.
    /// </summary>
    private static void InstallEscortKeys(SimulatedStreetlight board, DeviceRecord record, EscortKeySchedule schedule)
    {
        if (!EscortKeySchedule.TryParseArea(record.DistrictCode, out ushort area))
        {
            return;
        }

        uint rotation = schedule.DeliveredRotation((long)(DateTime.UtcNow - DateTime.UnixEpoch).TotalMinutes);
        if (rotation > 0)
        {
            board.Controller.InstallEscortKey(schedule.Record(area, rotation - 1), 0);
        }

        board.Controller.InstallEscortKey(schedule.Record(area, rotation), 0);
    }
}
