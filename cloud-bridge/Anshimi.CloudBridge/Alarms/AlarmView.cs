using Anshimi.CloudBridge.Districts;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>
/// An alarm as the console and API clients see it (JSON, camelCase). The site's address and coordinates are
/// given only while the alarm is open, or to central staff who opened the case (<see cref="AlarmCases"/>);
/// otherwise they are null and only the district is shown.
/// </summary>
public sealed record AlarmView(
    string Key,
    string DeviceId,
    uint Counter,
    string GatewayId,
    string Profile,
    bool Test,
    EventView Event,
    DistrictView District,
    SiteView Site,
    string State,
    DateTimeOffset RaisedAt,
    DateTimeOffset ReceivedAt,
    IReadOnlyList<TimelineEntry> Timeline)
{
    public static AlarmView From(AlarmRecord alarm, DistrictDirectory districts, bool caseOpened = false)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        ArgumentNullException.ThrowIfNull(districts);
        (string ko, string en) = EventNames.Of(alarm.EventCode, alarm.Qualifier);
        DistrictName district = districts.NameOf(alarm.DistrictCode);
        return new AlarmView(
            alarm.Key,
            alarm.DeviceId,
            alarm.Counter,
            alarm.GatewayId,
            alarm.Profile,
            alarm.Test,
            new EventView(alarm.EventCode, alarm.Qualifier, alarm.Zone, ko, en),
            new DistrictView(district.Code, district.NameKo, district.NameEn),
            AlarmState.IsOpen(alarm.State) || caseOpened
                ? new SiteView(alarm.SiteKind, alarm.Address, alarm.Latitude, alarm.Longitude)
                : SiteView.Withheld(alarm.SiteKind),
            alarm.State,
            alarm.RaisedAt,
            alarm.ReceivedAt,
            alarm.Timeline);
    }
}

public sealed record EventView(int Code, int Qualifier, int Zone, string NameKo, string NameEn);

public sealed record DistrictView(string Code, string NameKo, string NameEn);

/// <summary>Where a device is; <see cref="Address"/>, <see cref="Lat"/> and <see cref="Lon"/> are null when withheld.</summary>
public sealed record SiteView(string Kind, string? Address, double? Lat, double? Lon)
{
    public static SiteView Withheld(string kind) => new(kind, null, null, null);
}

public sealed record GatewayView(string GatewayId, DateTimeOffset LastSeenAt, int OutboxDepth, bool Down);
