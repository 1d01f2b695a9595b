using System.Text.Json;
using System.Text.Json.Serialization;

namespace Anshimi.Protocol.Upstream.Provisioning;

/// <summary>
/// One provisioned device as the seeded registry file lists it. Holds secrets (frame key, broker
/// password): the file is written 0600 and never logged.
/// </summary>
public sealed record DeviceRecord(
    [property: JsonPropertyName("deviceId")] string DeviceId,
    [property: JsonPropertyName("keyHex")] string KeyHex,
    [property: JsonPropertyName("mqttPassword")] string MqttPassword,
    [property: JsonPropertyName("profile")] string Profile,
    [property: JsonPropertyName("site")] SiteInfo Site,
    [property: JsonPropertyName("districtCode")] string? DistrictCode)
{
    [JsonIgnore]
    public uint NumericId => DeviceIdText.TryParse(DeviceId, out uint id) ? id : throw new FormatException("device id must be 8 hex digits: " + DeviceId);

    [JsonIgnore]
    public byte[] Key => Convert.FromHexString(KeyHex);

    /// <summary>Log-safe: no key, no password.</summary>
    public override string ToString() => DeviceId + " (" + Profile + ")";
}

/// <summary>
/// The seeded device registry shared by the gateway, the simulator, the demo and the tests until
/// installer provisioning replaces it.
/// </summary>
public sealed record FleetFile(
    [property: JsonPropertyName("gatewayId")] string GatewayId,
    [property: JsonPropertyName("devices")] IReadOnlyList<DeviceRecord> Devices)
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Reads and validates a fleet file; throws <see cref="FormatException"/> naming the bad entry.</summary>
    public static FleetFile Load(string path)
    {
        FleetFile? fleet;
        try
        {
            fleet = JsonSerializer.Deserialize<FleetFile>(File.ReadAllBytes(path), Options);
        }
        catch (JsonException ex)
        {
            throw new FormatException("fleet file " + path + " is not valid: " + ex.Message, ex);
        }

        if (fleet is null)
        {
            throw new FormatException("fleet file " + path + " is empty");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < fleet.Devices.Count; i++)
        {
            DeviceRecord d = fleet.Devices[i];
            if (!DeviceIdText.TryParse(d.DeviceId, out _) || d.DeviceId != d.DeviceId.ToUpperInvariant())
            {
                throw new FormatException($"fleet file {path}: devices[{i}].deviceId must be 8 upper-case hex digits");
            }

            if (d.KeyHex.Length != 64 || !IsHex(d.KeyHex))
            {
                throw new FormatException($"fleet file {path}: devices[{i}].keyHex must be 64 hex digits (a 32-byte key)");
            }

            if (!seen.Add(d.DeviceId))
            {
                throw new FormatException($"fleet file {path}: devices[{i}].deviceId {d.DeviceId} is listed twice");
            }
        }

        return fleet;
    }

    public void Save(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        JsonSerializer.Serialize(stream, this, Options);
    }

    private static bool IsHex(string s)
    {
        foreach (char c in s)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
