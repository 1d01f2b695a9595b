using System.Text.Json.Serialization;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;

namespace Anshimi.CloudBridge.App;

/// <summary>A WGS84 position in decimal degrees.</summary>
public sealed record GeoPointDto(double? Lat, double? Lon);

/// <summary>Start return-home monitoring (귀가모니터링).</summary>
public sealed record StartEscortRequest(GeoPointDto? Origin, GeoPointDto? Destination, IReadOnlyList<GeoPointDto>? Route);

/// <summary>Where the walker was at <see cref="At"/> (the phone's fix time).</summary>
public sealed record LocationUpdateDto(double? Lat, double? Lon, DateTimeOffset? At);

public sealed record LocationBatchRequest(IReadOnlyList<LocationUpdateDto>? Locations);

/// <summary>Reason is <c>arrived</c> or <c>cancelled</c>.</summary>
public sealed record EndEscortRequest(string? Reason);

/// <summary>Report an emergency (긴급신고) at a location, optionally during an escort session.</summary>
public sealed record EmergencyRequest(GeoPointDto? Location, string? SessionId);

public sealed record GeoPointView(double Lat, double Lon);

/// <summary>The district and neighbourhood (행정동, null outside every one) a point lies in.</summary>
public sealed record AreaView(DistrictView District, NeighbourhoodView? Neighbourhood)
{
    public static AreaView Of(DistrictDirectory districts, double lat, double lon)
    {
        ArgumentNullException.ThrowIfNull(districts);
        DistrictName district = districts.NameOf(districts.Resolve(lat, lon));
        return new AreaView(new DistrictView(district.Code, district.NameKo, district.NameEn), NeighbourhoodView.Of(districts.NeighbourhoodAt(lat, lon)));
    }
}

public sealed record EscortSessionView(
    string SessionId,
    string State,
    GeoPointView Origin,
    GeoPointView Destination,
    AreaView OriginArea,
    AreaView DestinationArea,
    int RoutePoints,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    int TimeoutSeconds);

public sealed record LocationsAcceptedView(string SessionId, int Accepted, int LitLights);

public sealed record EscortAdvertisementView(
    string SessionId,
    [property: JsonPropertyName("area")] string AreaCode,
    uint UnixMinute,
    [property: JsonPropertyName("frame")] string FrameHex,
    [property: JsonPropertyName("advertisement")] string AdvertisementHex,
    DateTimeOffset ValidFrom,
    DateTimeOffset RefreshAt);

public sealed record LightView(string LightId, string GatewayId, double Lat, double Lon);

public sealed record EmergencyView(
    string AlarmKey,
    string DistrictCode,
    string DistrictNameKo,
    string DistrictNameEn,
    string? NeighbourhoodCode,
    string? NeighbourhoodNameKo,
    GeoPointView Location,
    IReadOnlyList<LightView> Lights,
    DateTimeOffset ReportedAt);

/// <summary>Where an emergency report stands at the control center: open, acknowledged ("help is on the way") or resolved.</summary>
public sealed record EmergencyStatusView(string AlarmKey, string State, DateTimeOffset? AcknowledgedAt, DateTimeOffset? ResolvedAt);
