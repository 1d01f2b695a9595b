using System.Text.Json.Serialization;

namespace Anshimi.Protocol.Upstream;

/// <summary>Where a device is installed, as the gateway's registry knows it (no personal data).</summary>
public sealed record SiteInfo(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("lat")] double Latitude,
    [property: JsonPropertyName("lon")] double Longitude,
    [property: JsonPropertyName("address")] string Address);

public sealed record ContactIdEvent(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("qualifier")] int Qualifier,
    [property: JsonPropertyName("zone")] int Zone);

/// <summary>Base of every JSON envelope between gateway and cloud bridge (protocol/README.md §5).</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(AlarmEnvelope), "alarm")]
[JsonDerivedType(typeof(GatewayHeartbeatEnvelope), "gateway-heartbeat")]
[JsonDerivedType(typeof(AckRelayedEnvelope), "ack-relayed")]
[JsonDerivedType(typeof(AlarmReceiptEnvelope), "receipt")]
[JsonDerivedType(typeof(OperatorAckEnvelope), "operator-ack")]
public abstract record Envelope
{
    /// <summary>Envelope schema version.</summary>
    [JsonPropertyName("v")]
    public int Version { get; init; } = 1;
}

/// <summary>Gateway → cloud: an authenticated alarm, sent until the cloud's <see cref="AlarmReceiptEnvelope"/>.</summary>
public sealed record AlarmEnvelope(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("gatewayId")] string GatewayId,
    [property: JsonPropertyName("deviceId")] string DeviceId,
    [property: JsonPropertyName("counter")] uint Counter,
    [property: JsonPropertyName("event")] ContactIdEvent Event,
    [property: JsonPropertyName("profile")] string Profile,
    [property: JsonPropertyName("site")] SiteInfo Site,
    [property: JsonPropertyName("test")] bool Test,
    [property: JsonPropertyName("receivedAt")] DateTimeOffset ReceivedAt,
    [property: JsonPropertyName("frame")] string FrameHex) : Envelope;

/// <summary>Gateway → cloud: the gateway is alive (tells "gateway down" from "devices silent").</summary>
public sealed record GatewayHeartbeatEnvelope(
    [property: JsonPropertyName("gatewayId")] string GatewayId,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("outboxDepth")] int OutboxDepth) : Envelope;

/// <summary>Gateway → cloud: an operator's acknowledgement has been handed to the device's downlink.</summary>
public sealed record AckRelayedEnvelope(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("stage")] string Stage) : Envelope;

/// <summary>Cloud → gateway: the alarm is stored durably in the cloud; the gateway's outbox may drop it.</summary>
public sealed record AlarmReceiptEnvelope(
    [property: JsonPropertyName("key")] string Key) : Envelope;

/// <summary>Cloud → gateway: an operator acknowledged (or resolved) the alarm; relay it to the bell.</summary>
public sealed record OperatorAckEnvelope(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("operator")] string Operator,
    [property: JsonPropertyName("at")] DateTimeOffset At) : Envelope;

/// <summary>Wire names of <see cref="AckStage"/> in JSON.</summary>
public static class AckStageName
{
    public const string Acknowledged = "acknowledged";
    public const string Resolved = "resolved";

    public static bool TryParse(string? name, out AckStage stage)
    {
        stage = name switch
        {
            Acknowledged => AckStage.OperatorAcknowledged,
            Resolved => AckStage.Resolved,
            _ => 0,
        };
        return stage != 0;
    }

    public static string Of(AckStage stage) => stage switch
    {
        AckStage.OperatorAcknowledged => Acknowledged,
        AckStage.Resolved => Resolved,
        _ => throw new ArgumentOutOfRangeException(nameof(stage)),
    };
}
