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
[JsonDerivedType(typeof(TroubleEnvelope), "trouble")]
[JsonDerivedType(typeof(DeviceStatusEnvelope), "device-status")]
[JsonDerivedType(typeof(SnapshotEnvelope), "snapshot")]
[JsonDerivedType(typeof(SnapshotReceiptEnvelope), "snapshot-receipt")]
[JsonDerivedType(typeof(LightCommandEnvelope), "light-command")]
[JsonDerivedType(typeof(LightOutcomeEnvelope), "light-outcome")]
[JsonDerivedType(typeof(DeviceBoundEnvelope), "device-bound")]
[JsonDerivedType(typeof(DeviceBoundReceiptEnvelope), "device-bound-receipt")]
[JsonDerivedType(typeof(FirmwareOfferEnvelope), "firmware-offer")]
[JsonDerivedType(typeof(FirmwareFetchEnvelope), "firmware-fetch")]
[JsonDerivedType(typeof(FirmwarePartEnvelope), "firmware-part")]
[JsonDerivedType(typeof(FirmwareCancelEnvelope), "firmware-cancel")]
[JsonDerivedType(typeof(FirmwareStateEnvelope), "firmware-state")]
[JsonDerivedType(typeof(EscortKeysEnvelope), "escort-keys")]
[JsonDerivedType(typeof(EscortKeysReceiptEnvelope), "escort-keys-receipt")]
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
    [property: JsonPropertyName("frame")] string FrameHex) : Envelope
{
    /// <summary>
    /// W3C trace context (<c>traceparent</c>) of the gateway's span that sent this copy, so the cloud continues the
    /// alarm's one trace. Optional: absent when the gateway does not trace, ignored by receivers that do not; a value
    /// that is not a string reads as absent, and a malformed string is the receiver's to ignore.
    /// </summary>
    [JsonPropertyName("traceparent")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonConverter(typeof(OptionalStringConverter))]
    public string? TraceParent { get; init; }

    /// <summary>W3C <c>tracestate</c> travelling with <see cref="TraceParent"/>; optional, same rules.</summary>
    [JsonPropertyName("tracestate")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonConverter(typeof(OptionalStringConverter))]
    public string? TraceState { get; init; }
}

/// <summary>
/// Gateway → cloud: this gateway serves the device at this site, with this frame key (installer's bind, replace, site
/// import, seeded fleet). Sent before the device's first status and again whenever site, profile or key change; the
/// cloud takes it only for a device bound to no gateway or already to this one (moving a device is the cloud's
/// re-home, never a gateway's word). Holds a secret: never logged.
/// </summary>
public sealed record DeviceBoundEnvelope(
    [property: JsonPropertyName("gatewayId")] string GatewayId,
    [property: JsonPropertyName("deviceId")] string DeviceId,
    [property: JsonPropertyName("profile")] string Profile,
    [property: JsonPropertyName("site")] SiteInfo Site,
    [property: JsonPropertyName("frameKey")] string FrameKeyHex) : Envelope
{
    /// <summary>Log-safe: no key.</summary>
    public override string ToString() => "device-bound " + DeviceId + " at " + GatewayId;
}

/// <summary>Cloud → gateway: the cloud holds <see cref="DeviceId"/> as this gateway's, as last announced; the gateway stops re-sending it.</summary>
public sealed record DeviceBoundReceiptEnvelope(
    [property: JsonPropertyName("deviceId")] string DeviceId) : Envelope;

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

/// <summary>
/// Gateway → cloud: a trouble the gateway itself detected about a device (350 communication trouble when it falls
/// silent, restored when it returns). Its key is <c>{gatewayId}/{sequence}</c>, a sequence the gateway keeps, so it
/// can never collide with a device's <c>DEVICEID:counter</c>. Sent until the cloud's <see cref="AlarmReceiptEnvelope"/>.
/// </summary>
public sealed record TroubleEnvelope(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("gatewayId")] string GatewayId,
    [property: JsonPropertyName("deviceId")] string DeviceId,
    [property: JsonPropertyName("event")] ContactIdEvent Event,
    [property: JsonPropertyName("profile")] string Profile,
    [property: JsonPropertyName("site")] SiteInfo Site,
    [property: JsonPropertyName("detectedAt")] DateTimeOffset DetectedAt) : Envelope;

/// <summary>A device's health as its gateway sees it (DESIGN §4 "silence is an alarm").</summary>
public sealed record DeviceHealth(
    [property: JsonPropertyName("silent")] bool Silent,
    [property: JsonPropertyName("lowBattery")] bool LowBattery,
    [property: JsonPropertyName("tamper")] bool Tamper,
    [property: JsonPropertyName("mainsLost")] bool MainsLost,
    [property: JsonPropertyName("lampFault")] bool LampFault,
    [property: JsonPropertyName("batteryPercent")] int? BatteryPercent);

/// <summary>
/// Gateway → cloud: where a device is and how it is, sent when either changes and periodically (QoS 1, latest wins;
/// no receipt). Carries no personal data.
/// </summary>
public sealed record DeviceStatusEnvelope(
    [property: JsonPropertyName("gatewayId")] string GatewayId,
    [property: JsonPropertyName("deviceId")] string DeviceId,
    [property: JsonPropertyName("profile")] string Profile,
    [property: JsonPropertyName("site")] SiteInfo Site,
    [property: JsonPropertyName("districtCode")] string? DistrictCode,
    [property: JsonPropertyName("health")] DeviceHealth Health,
    [property: JsonPropertyName("lastSeen")] DateTimeOffset? LastSeen,
    [property: JsonPropertyName("at")] DateTimeOffset At) : Envelope;

/// <summary>
/// Gateway → cloud: a doorbell camera snapshot, reassembled and hash-checked, belonging to the alarm or event
/// <see cref="Key"/>. Sent until the cloud's <see cref="SnapshotReceiptEnvelope"/>. Up to 256 KiB.
/// </summary>
public sealed record SnapshotEnvelope(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("gatewayId")] string GatewayId,
    [property: JsonPropertyName("deviceId")] string DeviceId,
    [property: JsonPropertyName("event")] ContactIdEvent Event,
    [property: JsonPropertyName("takenAt")] DateTimeOffset TakenAt,
    [property: JsonPropertyName("contentType")] string ContentType,
    [property: JsonPropertyName("sha256")] string Sha256Hex,
    [property: JsonPropertyName("data")] byte[] Data) : Envelope;

/// <summary>Cloud → gateway: the snapshot for <see cref="Key"/> is stored; the gateway may drop its copy.</summary>
public sealed record SnapshotReceiptEnvelope(
    [property: JsonPropertyName("key")] string Key) : Envelope;

/// <summary>
/// Cloud → gateway: put these streetlights into <see cref="Mode"/> (<c>escort</c>, <c>emergency</c> or
/// <c>release</c>). The gateway repeats the BLE command until each light confirms in its beacon or
/// <see cref="ExpiresAt"/> passes, and answers with one <see cref="LightOutcomeEnvelope"/> per light.
/// </summary>
public sealed record LightCommandEnvelope(
    [property: JsonPropertyName("requestId")] string RequestId,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("lights")] IReadOnlyList<string> Lights,
    [property: JsonPropertyName("holdSeconds")] int HoldSeconds,
    [property: JsonPropertyName("expiresAt")] DateTimeOffset ExpiresAt) : Envelope;

/// <summary>Gateway → cloud: what became of one light in a <see cref="LightCommandEnvelope"/>.</summary>
public sealed record LightOutcomeEnvelope(
    [property: JsonPropertyName("requestId")] string RequestId,
    [property: JsonPropertyName("gatewayId")] string GatewayId,
    [property: JsonPropertyName("lightId")] string LightId,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("outcome")] string Outcome,
    [property: JsonPropertyName("at")] DateTimeOffset At) : Envelope;

/// <summary>Wire names of light modes and outcomes in JSON.</summary>
public static class LightModeName
{
    public const string Escort = "escort";
    public const string Emergency = "emergency";
    public const string Release = "release";

    public static bool TryParse(string? name, out byte mode)
    {
        mode = name switch
        {
            Escort => LightMode.Escort,
            Emergency => LightMode.Emergency,
            _ => LightMode.Schedule,
        };
        return name is Escort or Emergency or Release;
    }
}

/// <summary>Outcome of one light in a light command.</summary>
public static class LightOutcomeName
{
    /// <summary>The light's beacon shows the requested mode.</summary>
    public const string Confirmed = "confirmed";

    /// <summary>No confirming beacon before the request expired.</summary>
    public const string Expired = "expired";

    /// <summary>The light is not in this gateway's registry.</summary>
    public const string UnknownLight = "unknown-light";

    /// <summary>A newer request for the same light replaced this one before the light confirmed it.</summary>
    public const string Superseded = "superseded";
}

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

/// <summary>
/// Cloud → gateway: offer the signed release to these devices bound to the gateway (protocol/README.md §11.6). The
/// gateway answers with one <see cref="FirmwareStateEnvelope"/> per device and fetches the image with
/// <see cref="FirmwareFetchEnvelope"/>.
/// </summary>
public sealed record FirmwareOfferEnvelope(
    [property: JsonPropertyName("rolloutId")] string RolloutId,
    [property: JsonPropertyName("releaseId")] string ReleaseId,
    [property: JsonPropertyName("manifest")] byte[] Manifest,
    [property: JsonPropertyName("signature")] string SignatureHex,
    [property: JsonPropertyName("devices")] IReadOnlyList<string> Devices,
    [property: JsonPropertyName("expiresAt")] DateTimeOffset ExpiresAt) : Envelope;

/// <summary>Gateway → cloud: send chunk <see cref="Index"/> of a release offered to this gateway.</summary>
public sealed record FirmwareFetchEnvelope(
    [property: JsonPropertyName("releaseId")] string ReleaseId,
    [property: JsonPropertyName("index")] int Index) : Envelope;

/// <summary>Cloud → gateway: one chunk of a release, checked by the gateway against the manifest's hash.</summary>
public sealed record FirmwarePartEnvelope(
    [property: JsonPropertyName("releaseId")] string ReleaseId,
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("data")] byte[] Data) : Envelope;

/// <summary>Cloud → gateway: the rollout stopped; devices not yet activating get cancel.</summary>
public sealed record FirmwareCancelEnvelope(
    [property: JsonPropertyName("rolloutId")] string RolloutId,
    [property: JsonPropertyName("releaseId")] string ReleaseId) : Envelope;

/// <summary>Gateway → cloud: a device's update state, as its state report said or the gateway decided (latest wins).</summary>
public sealed record FirmwareStateEnvelope(
    [property: JsonPropertyName("gatewayId")] string GatewayId,
    [property: JsonPropertyName("deviceId")] string DeviceId,
    [property: JsonPropertyName("releaseId")] string? ReleaseId,
    [property: JsonPropertyName("rolloutId")] string? RolloutId,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("chunksDone")] int ChunksDone,
    [property: JsonPropertyName("chunkCount")] int ChunkCount,
    [property: JsonPropertyName("runningVersion")] string? RunningVersion,
    [property: JsonPropertyName("floor")] string? Floor,
    [property: JsonPropertyName("board")] string? Board,
    [property: JsonPropertyName("at")] DateTimeOffset At) : Envelope;

/// <summary>
/// Cloud → gateway (protocol/README.md §10.1): the escort key records of rotation <see cref="Rotation"/> for the districts
/// of the gateway's lights, each for the lights listed; sent until the gateway's <see cref="EscortKeysReceiptEnvelope"/>.
/// </summary>
public sealed record EscortKeysEnvelope(
    [property: JsonPropertyName("rotation")] long Rotation,
    [property: JsonPropertyName("keys")] IReadOnlyList<EscortAreaKey> Keys) : Envelope;

/// <summary>One district's key record (<c>EscortKeyRecord</c>, 39 bytes as 78 hex digits) and the lights that take it.</summary>
public sealed record EscortAreaKey(
    [property: JsonPropertyName("area")] string Area,
    [property: JsonPropertyName("recordHex")] string RecordHex,
    [property: JsonPropertyName("lights")] IReadOnlyList<string> Lights);

/// <summary>Gateway → cloud: the gateway took the <see cref="EscortKeysEnvelope"/> of <see cref="Rotation"/>; the cloud stops re-sending it.</summary>
public sealed record EscortKeysReceiptEnvelope(
    [property: JsonPropertyName("gatewayId")] string GatewayId,
    [property: JsonPropertyName("rotation")] long Rotation) : Envelope;
