using System.Text.Json;
using System.Text.Json.Serialization;

namespace Anshimi.DeviceSim;

/// <summary>
/// What the control API reports of every bell and doorbell. Its fields lead (order -1): the serializer
/// would otherwise write a derived record's own fields first.
/// </summary>
public abstract record DeviceStatus
{
    [JsonPropertyName("id"), JsonPropertyOrder(-1)]
    public required string Id { get; init; }

    [JsonPropertyName("profile"), JsonPropertyOrder(-1)]
    public required string Profile { get; init; }

    [JsonPropertyName("district"), JsonPropertyOrder(-1)]
    public required string? District { get; init; }

    [JsonPropertyName("address"), JsonPropertyOrder(-1)]
    public required string Address { get; init; }

    [JsonPropertyName("connected"), JsonPropertyOrder(-1)]
    public required bool Connected { get; init; }

    [JsonPropertyName("led"), JsonPropertyOrder(-1)]
    public required string Led { get; init; }

    [JsonPropertyName("pendingAlarms"), JsonPropertyOrder(-1)]
    public required int PendingAlarms { get; init; }

    [JsonPropertyName("alarmsRaised"), JsonPropertyOrder(-1)]
    public required int AlarmsRaised { get; init; }

    [JsonPropertyName("newestAlarmCounter"), JsonPropertyOrder(-1)]
    public required uint NewestAlarmCounter { get; init; }

    [JsonPropertyName("rejectedDownlinks"), JsonPropertyOrder(-1)]
    public required int RejectedDownlinks { get; init; }

    [JsonPropertyName("lastError"), JsonPropertyOrder(-1)]
    public required string? LastError { get; init; }

    /// <summary>The loader's running version and the update client's state; null for a device without the loader.</summary>
    [JsonPropertyName("firmware"), JsonPropertyOrder(-1)]
    public FirmwareStatus? Firmware { get; init; }
}

/// <summary>A simulated device's firmware as its loader and update client hold it.</summary>
public sealed record FirmwareStatus(
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("onTrial")] bool OnTrial,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("chunksDone")] int ChunksDone,
    [property: JsonPropertyName("chunkCount")] int ChunkCount)
{
    public static FirmwareStatus Of(Anshimi.Firmware.Ota.BootResult boot, Anshimi.Firmware.Ota.UpdateClient client) => new(
        boot.Record.ActiveVersion.ToString(),
        boot.Record.OnTrial,
        Anshimi.Protocol.Ota.UpdateState.NameOf(client.LastState) ?? "idle",
        Anshimi.Protocol.Ota.UpdateReason.NameOf(client.LastReason),
        client.ChunksDone,
        client.Download?.ChunkCount ?? 0);
}

/// <summary>One simulated bell as the control API reports it; the client reads a doorbell's status as one too.</summary>
public sealed record BellStatus(
    [property: JsonPropertyName("asleep")] bool Asleep = false,
    [property: JsonPropertyName("tamperOpen")] bool TamperOpen = false,
    [property: JsonPropertyName("mainsLost")] bool MainsLost = false,
    [property: JsonPropertyName("batteryLow")] bool BatteryLow = false,
    [property: JsonPropertyName("batteryPercent")] int? BatteryPercent = null,
    [property: JsonPropertyName("advertisements")] int Advertisements = 0) : DeviceStatus;

/// <summary>Body of an accepted change to a simulated part (lid, mains, battery, voice).</summary>
public sealed record ChangeResult(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("change")] string Change);

/// <summary>Body of an accepted press.</summary>
public sealed record PressResult(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("holdMs")] int HoldMs);

/// <summary>Body of every error answer.</summary>
public sealed record ErrorBody([property: JsonPropertyName("error")] string Error);

public static class SimJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>LED state names (as the API reports them) in Korean first, English alongside.</summary>
    public static string LedLabel(string led) => led switch
    {
        "idle" => "대기 idle",
        "sending" => "전송 중 sending",
        "received" => "게이트웨이 수신 received by gateway",
        "acknowledged" => "관제 확인, 출동 중 help is on the way",
        "failed" => "전송 실패, 계속 재시도 failed, still retrying",
        _ => led,
    };

    /// <summary>Streetlight modes (as the API reports them) in Korean first, English alongside.</summary>
    public static string ModeLabel(string mode) => mode switch
    {
        "schedule" => "일정 schedule",
        "escort" => "귀가 동행 escort",
        "emergency" => "긴급 점멸 emergency",
        _ => mode,
    };
}
