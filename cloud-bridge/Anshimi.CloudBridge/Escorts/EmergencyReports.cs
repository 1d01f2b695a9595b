using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Streetlights;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Escorts;

public enum EmergencyOutcome
{
    Created,

    /// <summary>The same idempotency key with the same request: the stored result, nothing done again.</summary>
    Replayed,

    /// <summary>The same idempotency key with a different request.</summary>
    KeyReused,
}

public sealed record EmergencyResult(EmergencyOutcome Outcome, EmergencyRecord Record);

/// <summary>
/// Emergency reports from the app (긴급신고): each opens an alarm in the cloud's alarm store — so the district
/// control center sees it in the console like a device alarm — and sets the nearest lights blinking until an
/// operator resolves that alarm. Reports are idempotent per client and <c>Idempotency-Key</c>.
/// </summary>
public sealed class EmergencyReports
{
    /// <summary>
    /// The pseudo device of app reports: alarm keys are <c>5E000000:{n}</c> with <c>n</c> drawn at random, so nobody can
    /// tell the next one, and in an id range no gateway may use (<see cref="DeviceIdText.IsCloudReserved"/>).
    /// </summary>
    public const uint AppReportDeviceId = DeviceIdText.FirstCloudId;

    /// <summary>The "gateway" of app reports; no gateway serves it, the app reads the alarm state instead.</summary>
    public const string AppGatewayId = "anshimi-app";

    public const string Profile = "app";
    public const string SiteKind = "street";

    private readonly EscortStore _store;
    private readonly AlarmStore _alarms;
    private readonly AlarmFeed _feed;
    private readonly DistrictDirectory _districts;
    private readonly EscortPlanner _planner;
    private readonly TimeProvider _time;

    public EmergencyReports(EscortStore store, AlarmStore alarms, AlarmFeed feed, DistrictDirectory districts, EscortPlanner planner, TimeProvider time)
    {
        _store = store;
        _alarms = alarms;
        _feed = feed;
        _districts = districts;
        _planner = planner;
        _time = time;
    }

    public static bool IsAppReport(string alarmKey) => AlarmKey.TryParse(alarmKey, out AlarmKey key) && key.DeviceId == AppReportDeviceId;

    public async Task<EmergencyResult> ReportAsync(
        string client, string idempotencyKey, GeoPoint location, uint? sessionId, CancellationToken cancellationToken)
    {
        string hash = RequestHash(location, sessionId);
        string district = _districts.Resolve(location.Latitude, location.Longitude);
        DateTimeOffset now = _time.GetUtcNow();
        string newKey = await NewAlarmKeyAsync(cancellationToken);
        (EmergencyRecord record, bool isNew) = await _store.AddEmergencyAsync(
            client, idempotencyKey, hash, location, district, now, _ => newKey, cancellationToken);
        if (!isNew && record.RequestHash != hash)
        {
            return new EmergencyResult(EmergencyOutcome.KeyReused, record);
        }

        // Also on a replay: finishes a report whose first attempt stopped half-way.
        await OpenAlarmAsync(record, sessionId, cancellationToken);
        if (record.ReleasedAt is null && !_planner.HasEmergency(record.AlarmKey))
        {
            // The report may have reached two instances at once: the one that records the lights commands them, the
            // other only claims them, so no escort here overrides them.
            string[] ids = record.Lights.Count > 0 ? [] : [.. _planner.EmergencyLightsAt(location.Latitude, location.Longitude).Select(l => l.IdText)];
            if (ids.Length > 0 && await _store.SetEmergencyLightsAsync(record.Sequence, ids, cancellationToken))
            {
                _planner.BeginEmergency(record.AlarmKey, location.Latitude, location.Longitude);
                record = record with { Lights = ids };
            }
            else
            {
                record = await _store.FindEmergencyAsync(record.Sequence, cancellationToken) ?? record;
                _planner.RestoreEmergency(record.AlarmKey, record.Lights, resend: false);
            }
        }

        return new EmergencyResult(isNew ? EmergencyOutcome.Created : EmergencyOutcome.Replayed, record);
    }

    /// <summary>
    /// The operator resolved the report's alarm: its lights go back to their schedule (or to a walker's escort). Every
    /// instance hears of it; the one that marks the report released sends the release, the others let go of their claims.
    /// </summary>
    public async Task ReleaseAsync(EmergencyRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!await _store.MarkEmergencyReleasedAsync(record.Sequence, _time.GetUtcNow(), cancellationToken))
        {
            _planner.ForgetEmergency(record.AlarmKey);
            return;
        }

        if (!_planner.HasEmergency(record.AlarmKey))
        {
            // After a restart the planner has not claimed them: claim, then let go, so the release goes out.
            _planner.RestoreEmergency(record.AlarmKey, record.Lights, resend: false);
        }

        _planner.EndEmergency(record.AlarmKey);
    }

    /// <summary>
    /// Brings the lights in line with the alarms: emergencies whose alarm was resolved meanwhile are
    /// released, the others blink again. Run at start and whenever alarm updates may have been missed.
    /// </summary>
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        foreach (EmergencyRecord record in await _store.ListUnreleasedEmergenciesAsync(cancellationToken))
        {
            AlarmRecord? alarm = await _alarms.FindAsync(record.AlarmKey, cancellationToken);
            if (alarm is null || alarm.State == AlarmState.Resolved)
            {
                await ReleaseAsync(record, cancellationToken);
            }
            else
            {
                _planner.RestoreEmergency(record.AlarmKey, record.Lights, resend: true);
            }
        }
    }

    /// <summary>
    /// An operator acted on an alarm. For an app report there is no gateway to carry the answer: the app
    /// reads the alarm's state, so the stage counts as relayed at once; resolving releases the lights.
    /// </summary>
    public async Task OnOperatorActionAsync(AlarmView alarm, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        if (!IsAppReport(alarm.Key) || alarm.State == AlarmState.Open)
        {
            return;
        }

        if (alarm.State == AlarmState.Resolved)
        {
            EmergencyRecord? record = await _store.FindEmergencyByAlarmAsync(alarm.Key, cancellationToken);
            if (record is { ReleasedAt: null })
            {
                await ReleaseAsync(record, cancellationToken);
            }
        }

        await _alarms.MarkAckRelayedAsync(alarm.Key, alarm.State, _time.GetUtcNow(), cancellationToken);
    }

    private async Task OpenAlarmAsync(EmergencyRecord record, uint? sessionId, CancellationToken cancellationToken)
    {
        AlarmKey.TryParse(record.AlarmKey, out AlarmKey key);
        string address = sessionId is { } id ? "귀가모니터링 " + DeviceIdText.Format(id) : "";
        var alarm = new AlarmEnvelope(
            record.AlarmKey,
            AppGatewayId,
            DeviceIdText.Format(key.DeviceId),
            key.Counter,
            new ContactIdEvent(ContactIdCode.Panic, ContactIdQualifier.NewEvent, 0),
            Profile,
            new SiteInfo(SiteKind, record.Location.Latitude, record.Location.Longitude, address),
            Test: false,
            record.ReportedAt,
            FrameHex: "");
        var area = new SiteArea(record.DistrictCode, _districts.NeighbourhoodAt(record.Location.Latitude, record.Location.Longitude)?.Code);
        if (await _alarms.StoreAlarmAsync(alarm, record.AlarmKey, area, _time.GetUtcNow(), cancellationToken))
        {
            AlarmRecord? stored = await _alarms.FindAsync(record.AlarmKey, cancellationToken);
            if (stored is not null)
            {
                _feed.Publish(new AlarmFeedEvent(AlarmFeedEvent.NewAlarm, AlarmView.From(stored, _districts)));
            }
        }
    }

    private async Task<string> NewAlarmKeyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            uint counter = BitConverter.ToUInt32(RandomNumberGenerator.GetBytes(sizeof(uint)));
            string key = new AlarmKey(AppReportDeviceId, counter).ToString();
            if (counter != 0 && await _alarms.FindAsync(key, cancellationToken) is null)
            {
                return key;
            }
        }
    }

    private static string RequestHash(GeoPoint location, uint? sessionId) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
        string.Create(CultureInfo.InvariantCulture, $"{location.Latitude:R}|{location.Longitude:R}|{sessionId}"))));
}
