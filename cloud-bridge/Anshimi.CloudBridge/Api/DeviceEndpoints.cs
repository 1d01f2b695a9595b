using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Devices;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Operators;
using Anshimi.Protocol.Upstream;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Api;

public sealed record DeviceView(
    string DeviceId, string GatewayId, string Profile, SiteView Site, DistrictView District, NeighbourhoodView? Neighbourhood, DeviceHealth Health,
    DateTimeOffset? LastSeen, DateTimeOffset StatusAt);

public sealed record TroubleView(
    string Key, string GatewayId, string DeviceId, EventView Event, string Profile, string Address, DistrictView District,
    DateTimeOffset DetectedAt, DateTimeOffset ReceivedAt);

/// <summary>The device health panel (장치 상태): what needs a technician, in the operator's districts.</summary>
public sealed record HealthView(
    IReadOnlyList<DeviceView> Silent,
    IReadOnlyList<DeviceView> LowBattery,
    IReadOnlyList<DeviceView> Tamper,
    IReadOnlyList<DeviceView> LampFaults,
    IReadOnlyList<TroubleView> Troubles,
    IReadOnlyList<GatewayView> GatewaysDown);

/// <summary>Devices, gateways and device health, each filtered to the operator's districts.</summary>
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
        HttpContext http, DeviceHealthStore store, DistrictDirectory districts, CancellationToken cancellationToken)
    {
        IReadOnlyList<DeviceRecord> devices = await store.ListDevicesAsync(Visible(http), cancellationToken);
        return TypedResults.Ok(devices.Select(d => ViewOf(d, districts)).ToList());
    }

    private static async Task<Ok<HealthView>> GetHealthAsync(
        HttpContext http, DeviceHealthStore store, AlarmStore alarms, DistrictDirectory districts, IOptions<DeviceHealthOptions> options,
        TimeProvider time, CancellationToken cancellationToken)
    {
        IReadOnlyCollection<string>? visible = Visible(http);
        int lowPercent = options.Value.LowBatteryPercent;
        List<DeviceView> devices = (await store.ListDevicesAsync(visible, cancellationToken)).Select(d => ViewOf(d, districts)).ToList();
        IReadOnlyList<TroubleRecord> troubles = await store.ListActiveTroublesAsync(visible, cancellationToken);
        List<GatewayView> gateways = await VisibleGatewaysAsync(http, store, alarms, options.Value, time, cancellationToken);
        return TypedResults.Ok(new HealthView(
            devices.Where(d => d.Health.Silent).ToList(),
            devices.Where(d => d.Health.LowBattery || d.Health.BatteryPercent < lowPercent).ToList(),
            devices.Where(d => d.Health.Tamper).ToList(),
            devices.Where(d => d.Health.LampFault).ToList(),
            troubles.Select(t => TroubleViewOf(t, districts)).ToList(),
            gateways.Where(g => g.Down).ToList()));
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

    private static DeviceView ViewOf(DeviceRecord d, DistrictDirectory districts)
    {
        DistrictName district = districts.NameOf(d.DistrictCode);
        return new DeviceView(d.DeviceId, d.GatewayId, d.Profile, new SiteView(d.SiteKind, d.Address, d.Latitude, d.Longitude),
            new DistrictView(district.Code, district.NameKo, district.NameEn), NeighbourhoodView.Of(districts.NeighbourhoodAt(d.Latitude, d.Longitude)),
            d.Health, d.LastSeen, d.StatusAt);
    }

    private static TroubleView TroubleViewOf(TroubleRecord t, DistrictDirectory districts)
    {
        (string ko, string en) = EventNames.Of(t.EventCode, t.Qualifier);
        DistrictName district = districts.NameOf(t.DistrictCode);
        return new TroubleView(t.Key, t.GatewayId, t.DeviceId, new EventView(t.EventCode, t.Qualifier, t.Zone, ko, en), t.Profile, t.Address,
            new DistrictView(district.Code, district.NameKo, district.NameEn), t.DetectedAt, t.ReceivedAt);
    }
}
