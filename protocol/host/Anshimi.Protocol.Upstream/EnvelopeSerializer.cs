using System.Text.Json;

namespace Anshimi.Protocol.Upstream;

/// <summary>UTF-8 JSON for <see cref="Envelope"/>s. Parsing never throws: bad input yields an error text.</summary>
public static class EnvelopeSerializer
{
    public const int MaxEnvelopeBytes = 16 * 1024;

    /// <summary>
    /// Snapshot envelopes carry an image and may be larger than every other kind: a doorbell's largest picture, 256 KiB,
    /// is 349,528 bytes of base64, so 384 KiB leaves room for the other fields.
    /// </summary>
    public const int MaxSnapshotEnvelopeBytes = 384 * 1024;

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNameCaseInsensitive = false,
        AllowOutOfOrderMetadataProperties = true,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
    };

    public static byte[] Serialize(Envelope envelope) => JsonSerializer.SerializeToUtf8Bytes(envelope, Options);

    public static bool TryParse(ReadOnlySpan<byte> utf8, out Envelope? envelope, out string error)
    {
        envelope = null;
        if (utf8.Length > MaxSnapshotEnvelopeBytes)
        {
            error = "envelope larger than " + MaxSnapshotEnvelopeBytes + " bytes";
            return false;
        }

        try
        {
            envelope = JsonSerializer.Deserialize<Envelope>(utf8, Options);
        }
        catch (JsonException ex)
        {
            error = "malformed envelope: " + ex.Message;
            return false;
        }
        catch (NotSupportedException ex)
        {
            error = "unsupported envelope: " + ex.Message;
            return false;
        }

        if (envelope is null)
        {
            error = "empty envelope";
            return false;
        }

        if (utf8.Length > MaxEnvelopeBytes && envelope is not SnapshotEnvelope)
        {
            error = "envelope larger than " + MaxEnvelopeBytes + " bytes";
            envelope = null;
            return false;
        }

        // The serializer checks members against their nullability, but not the items of a list.
        if (envelope is LightCommandEnvelope command && command.Lights.Any(light => light is null))
        {
            error = "light command names a null light";
            envelope = null;
            return false;
        }

        if (envelope is EscortKeysEnvelope keys && keys.Keys.Any(key => key is null || key.Lights is null || key.Lights.Any(light => light is null)))
        {
            error = "escort keys name a null key or light";
            envelope = null;
            return false;
        }

        if (envelope is FirmwareOfferEnvelope offer && offer.Devices.Any(device => device is null))
        {
            error = "firmware offer names a null device";
            envelope = null;
            return false;
        }

        if (envelope.Version != 1)
        {
            error = "unknown envelope version " + envelope.Version;
            envelope = null;
            return false;
        }

        error = "";
        return true;
    }
}
