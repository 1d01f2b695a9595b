using System.Text.Json;
using System.Text.Json.Serialization;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Cameras;

namespace Anshimi.CloudBridge.Upstreams;

/// <summary>
/// The JSON an alarm travels as to webhooks and the IoT Hub (cloud-bridge/README.md "What a receiver
/// sees"). <see cref="SentAt"/> is the time of this transmission in Unix seconds; inside the signed
/// body it is what makes a replayed request recognisable.
/// </summary>
public sealed record UpstreamAlarmMessage(
    string Key,
    string DeviceId,
    uint Counter,
    string GatewayId,
    UpstreamEvent Event,
    string Profile,
    UpstreamSite Site,
    IReadOnlyList<NearbyCameraView> Cameras,
    bool Test,
    DateTimeOffset RaisedAt,
    DateTimeOffset ReceivedAt,
    long SentAt)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <param name="surroundings">The site's neighbourhood and nearest cameras; null sends neither.</param>
    public static UpstreamAlarmMessage From(AlarmRecord alarm, Surroundings? surroundings, DateTimeOffset sentAt)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        return new UpstreamAlarmMessage(
            alarm.Key,
            alarm.DeviceId,
            alarm.Counter,
            alarm.GatewayId,
            new UpstreamEvent(alarm.EventCode, alarm.Qualifier, alarm.Zone),
            alarm.Profile,
            new UpstreamSite(alarm.SiteKind, alarm.Latitude, alarm.Longitude, alarm.Address, alarm.DistrictCode, surroundings?.Neighbourhood),
            surroundings?.Cameras ?? [],
            alarm.Test,
            alarm.RaisedAt,
            alarm.ReceivedAt,
            sentAt.ToUnixTimeSeconds());
    }

    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static UpstreamAlarmMessage? Parse(ReadOnlySpan<byte> json) => JsonSerializer.Deserialize<UpstreamAlarmMessage>(json, Json);
}

/// <param name="Code">Contact ID event code (120 panic, 602 periodic test, ...).</param>
/// <param name="Qualifier">1 new event, 3 restore.</param>
public sealed record UpstreamEvent(int Code, int Qualifier, int Zone);

/// <param name="District">District code ("11680" 강남구), or "unknown" outside Seoul.</param>
/// <param name="Neighbourhood">The 행정동 (code, name, full name), or null outside every one.</param>
public sealed record UpstreamSite(string Kind, double Latitude, double Longitude, string Address, string District, NeighbourhoodView? Neighbourhood);
