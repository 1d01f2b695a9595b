using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Devices;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Operators;
using Anshimi.Protocol.Upstream;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Api;

/// <summary>
/// A device as operators see it: its district and its gateway box; the site's address and coordinates only while the
/// device has an open alarm (<see cref="OpenAlarm"/>), otherwise null.
/// </summary>
public sealed record DeviceView(
    string DeviceId, string GatewayId, string Profile, SiteView Site, DistrictView District, DeviceHealth Health,
    DateTimeOffset? LastSeen, DateTimeOffset StatusAt, string? OpenAlarm);

public sealed record TroubleView(
    string Key, string GatewayId, string DeviceId, EventView Event, string Profile, string? Address, DistrictView District,
    DateTimeOffset DetectedAt, DateTimeOffset ReceivedAt);

/// <summary>The device health panel (장치 상태): what needs a technician, in the operator's districts.</summary>
public sealed record HealthView(
    IReadOnlyList<DeviceView> Silent,
    IReadOnlyList<DeviceView> LowBattery,
    IReadOnlyList<DeviceView> Tamper,
    IReadOnlyList<DeviceView> LampFaults,
    IReadOnlyList<TroubleView> Troubles,
    IReadOnlyList<GatewayView> GatewaysDown);

/// <summary>
/// Devices, gateways and device health, each filtered to the operator's districts. A home's address and coordinates
/// appear only for a device with an open alarm, and the first time an operator's list shows them for that alarm is
/// audited (one row per operator and alarm, however often the list is polled).
/// </summary>
public static class DeviceEndpoints
{
    public static void MapDeviceApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapGet("/devices", ListDevicesAsync).WithName("ListDevices").WithTags("Devices");
        api.MapGet("/health", GetHealthAsync).WithName("GetDeviceHealth").WithTags("Devices")
            .WithSummary("장치 상태: silent devices, low battery, tamper, lamp faults, open troubles, gateways down.");
        api.MapGet("/gateways", ListGatewaysAsync).WithName("ListGateways").WithTags("Gateways");
    }

    private static async Task<Ok<List<DeviceView>>> ListDevicesAsync(
        HttpContext http, DeviceHealthStore store, AlarmStore alarms, DistrictDirectory districts, AuditLog audit, CancellationToken cancellationToken)
    {
        IReadOnlyCollection<string>? visible = Visible(http);
        IReadOnlyDictionary<string, string> open = await alarms.OpenAlarmKeysByDeviceAsync(visible, cancellationToken);
        IReadOnlyList<DeviceRecord> devices = await store.ListDevicesAsync(visible, cancellationToken);
        await AuditSitesShownAsync(http, audit, devices.Where(d => open.ContainsKey(d.DeviceId)).Select(d => (d.DeviceId, d.DistrictCode, open[d.DeviceId])), cancellationToken);
        return TypedResults.Ok(devices.Select(d => ViewOf(d, districts, open)).ToList());
    }

    private static async Task<Ok<HealthView>> GetHealthAsync(
        HttpContext http, DeviceHealthStore store, AlarmStore alarms, DistrictDirectory districts, AuditLog audit, IOptions<DeviceHealthOptions> options,
        TimeProvider time, CancellationToken cancellationToken)
    {
        IReadOnlyCollection<string>? visible = Visible(http);
        int lowPercent = options.Value.LowBatteryPercent;
        IReadOnlyDictionary<string, string> open = await alarms.OpenAlarmKeysByDeviceAsync(visible, cancellationToken);
        IReadOnlyList<DeviceRecord> records = await store.ListDevicesAsync(visible, cancellationToken);
        List<DeviceView> devices = records.Select(d => ViewOf(d, districts, open)).ToList();
        IReadOnlyList<TroubleRecord> troubles = await store.ListActiveTroublesAsync(visible, cancellationToken);
        await AuditSitesShownAsync(http, audit,
            records.Select(d => (d.DeviceId, d.DistrictCode)).Concat(troubles.Select(t => (t.DeviceId, t.DistrictCode))).Distinct()
                .Where(d => open.ContainsKey(d.DeviceId)).Select(d => (d.DeviceId, d.DistrictCode, open[d.DeviceId])), cancellationToken);
        List<GatewayView> gateways = await VisibleGatewaysAsync(http, store, alarms, options.Value, time, cancellationToken);
        return TypedResults.Ok(new HealthView(
            devices.Where(d => d.Health.Silent).ToList(),
            devices.Where(d => d.Health.LowBattery || d.Health.BatteryPercent < lowPercent).ToList(),
            devices.Where(d => d.Health.Tamper).ToList(),
            devices.Where(d => d.Health.LampFault).ToList(),
            troubles.Select(t => TroubleViewOf(t, districts, open)).ToList(),
            gateways.Where(g => g.Down).ToList()));
    }

    private static async Task AuditSitesShownAsync(
        HttpContext http, AuditLog audit, IEnumerable<(string DeviceId, string DistrictCode, string AlarmKey)> shown, CancellationToken cancellationToken)
    {
        string user = OperatorScope.Of(http.User).UserName;
        foreach ((string deviceId, string district, string alarmKey) in shown)
        {
            await audit.AppendOnceAsync(new AuditEntry(user, AuditAction.DeviceSiteView, deviceId, district, AuditOutcome.Granted, "alarm=" + alarmKey), cancellationToken);
        }
    }

    private static async Task<Ok<List<GatewayView>>> ListGatewaysAsync(
        HttpContext http, DeviceHealthStore store, AlarmStore alarms, IOptions<DeviceHealthOptions> options, TimeProvider time, CancellationToken cancellationToken) =>
        TypedResults.Ok(await VisibleGatewaysAsync(http, store, alarms, options.Value, time, cancellationToken));

    /// <summary>Central staff see every gateway; an operator those that serve a device in one of their districts.</summary>
    private static async Task<List<GatewayView>> VisibleGatewaysAsync(
        HttpContext http, DeviceHealthStore store, AlarmStore alarms, DeviceHealthOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var scope = OperatorScope.Of(http.User);
        IReadOnlyDictionary<string, HashSet<string>> served = await store.GatewayDistrictsAsync(cancellationToken);
        DateTimeOffset now = time.GetUtcNow();
        return (await alarms.ListGatewaysAsync(cancellationToken))
            .Where(g => scope.Central || (served.TryGetValue(g.GatewayId, out HashSet<string>? codes) && codes.Any(scope.CanSee)))
            .Select(g => new GatewayView(g.GatewayId, g.LastSeenAt, g.OutboxDepth, now - g.LastSeenAt > options.GatewayDownAfter))
            .ToList();
    }

    private static IReadOnlyCollection<string>? Visible(HttpContext http)
    {
        var scope = OperatorScope.Of(http.User);
        return scope.Central ? null : scope.Districts;
    }

    private static DeviceView ViewOf(DeviceRecord d, DistrictDirectory districts, IReadOnlyDictionary<string, string> open)
    {
        DistrictName district = districts.NameOf(d.DistrictCode);
        string? openAlarm = open.GetValueOrDefault(d.DeviceId);
        return new DeviceView(d.DeviceId, d.GatewayId, d.Profile,
            openAlarm is null ? SiteView.Withheld(d.SiteKind) : new SiteView(d.SiteKind, d.Address, d.Latitude, d.Longitude),
            new DistrictView(district.Code, district.NameKo, district.NameEn), d.Health, d.LastSeen, d.StatusAt, openAlarm);
    }

    private static TroubleView TroubleViewOf(TroubleRecord t, DistrictDirectory districts, IReadOnlyDictionary<string, string> open)
    {
        (string ko, string en) = EventNames.Of(t.EventCode, t.Qualifier);
        DistrictName district = districts.NameOf(t.DistrictCode);
        return new TroubleView(t.Key, t.GatewayId, t.DeviceId, new EventView(t.EventCode, t.Qualifier, t.Zone, ko, en), t.Profile,
            open.ContainsKey(t.DeviceId) ? t.Address : null,
            new DistrictView(district.Code, district.NameKo, district.NameEn), t.DetectedAt, t.ReceivedAt);
    }
}
