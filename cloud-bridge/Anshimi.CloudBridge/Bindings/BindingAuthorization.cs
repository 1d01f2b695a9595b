using Anshimi.CloudBridge.Ingress;
using Anshimi.CloudBridge.Streetlights;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Bindings;

/// <summary>Which gateway an alarm's operator acknowledgement went to (the gateway that relayed the alarm).</summary>
public interface IAlarmGatewayLookup
{
    /// <summary>The gateway of the stored alarm <paramref name="key"/>, or null when no such alarm is stored.</summary>
    Task<string?> GatewayOfAsync(string key, CancellationToken cancellationToken);
}

/// <summary>
/// The cloud's rule of who may speak for a device, from its own records: a gateway speaks only for devices bound to it
/// (<see cref="DeviceBindingStore"/>, and for streetlights the city's lights file); an alarm is taken from any gateway
/// only with the device's own frame, verified under that device's key, and marked test only by the device's own
/// gateway; ids the cloud reserves for itself are nobody's.
/// </summary>
public sealed class BindingAuthorization(DeviceBindingStore bindings, StreetlightDirectory lights, IAlarmGatewayLookup alarms) : IGatewayAuthorization
{
    /// <summary>Troubles about the gateway box itself carry this device id.</summary>
    public const uint GatewayBoxDeviceId = 0;

    public async Task<GatewayVerdict> AuthorizeAsync(string gatewayId, Envelope envelope, CancellationToken cancellationToken) => envelope switch
    {
        AlarmEnvelope alarm => await AlarmAsync(gatewayId, alarm, cancellationToken),
        DeviceBoundEnvelope bound => await DeviceAsync(gatewayId, bound.DeviceId, "device-bound", newDevice: true, cancellationToken),
        TroubleEnvelope trouble => await DeviceAsync(gatewayId, trouble.DeviceId, "trouble", newDevice: false, cancellationToken, boxAllowed: true),
        DeviceStatusEnvelope status => await DeviceAsync(gatewayId, status.DeviceId, "device-status", newDevice: false, cancellationToken),
        SnapshotEnvelope snapshot => await DeviceAsync(gatewayId, snapshot.DeviceId, "snapshot", newDevice: false, cancellationToken),
        LightOutcomeEnvelope outcome => await DeviceAsync(gatewayId, outcome.LightId, "light-outcome", newDevice: false, cancellationToken),
        AckRelayedEnvelope relayed => await AckRelayedAsync(gatewayId, relayed, cancellationToken),
        FirmwareStateEnvelope state => await DeviceAsync(gatewayId, state.DeviceId, "firmware-state", newDevice: false, cancellationToken),
        _ => new GatewayVerdict.Allowed(null, null),
    };

    private async Task<GatewayVerdict> DeviceAsync(
        string gatewayId, string? deviceIdText, string kind, bool newDevice, CancellationToken cancellationToken, bool boxAllowed = false)
    {
        if (deviceIdText is null || !DeviceIdText.TryParse(deviceIdText, out uint deviceId))
        {
            return new GatewayVerdict.Malformed(kind + " deviceId is not 8 hex digits");
        }

        if (boxAllowed && deviceId == GatewayBoxDeviceId)
        {
            return new GatewayVerdict.Allowed(null, null);
        }

        string subject = DeviceIdText.Format(deviceId);
        if (DeviceIdText.IsCloudReserved(deviceId))
        {
            return new GatewayVerdict.Refused(RefusalReason.ReservedDevice, subject, kind + " for a device id the cloud reserves", "");
        }

        DeviceOnRecord? device = OnRecord(deviceId, await bindings.FindAsync(deviceId, cancellationToken));
        if (device is null)
        {
            // A gateway introduces its own new devices with device-bound; everything else needs the binding first.
            return newDevice
                ? new GatewayVerdict.Allowed(null, null)
                : new GatewayVerdict.Refused(RefusalReason.UnboundDevice, subject, kind + " for a device bound to no gateway", "");
        }

        return device.GatewayId == gatewayId
            ? new GatewayVerdict.Allowed(device, null)
            : new GatewayVerdict.Refused(RefusalReason.OtherGatewaysDevice, subject, kind + " for a device bound to " + device.GatewayId, device.DistrictCode);
    }

    private async Task<GatewayVerdict> AlarmAsync(string gatewayId, AlarmEnvelope alarm, CancellationToken cancellationToken)
    {
        if (!AlarmKey.TryParse(alarm.Key, out AlarmKey key) || !DeviceIdText.TryParse(alarm.DeviceId, out uint deviceId) ||
            deviceId != key.DeviceId || alarm.Counter != key.Counter)
        {
            return new GatewayVerdict.Malformed("alarm key does not match deviceId and counter");
        }

        string subject = key.ToString();
        if (DeviceIdText.IsCloudReserved(deviceId))
        {
            return new GatewayVerdict.Refused(RefusalReason.ReservedDevice, subject, "alarm under a key only the cloud makes (app reports)", "");
        }

        DeviceBinding? binding = await bindings.FindAsync(deviceId, cancellationToken);
        DeviceOnRecord? device = OnRecord(deviceId, binding);
        if (device is null || binding is null)
        {
            return new GatewayVerdict.Refused(RefusalReason.UnboundDevice, subject, "alarm from a device bound to no gateway", "");
        }

        if (VerifiedFrame(alarm.FrameHex, binding.FrameKey, key, out string problem) is not { } frame)
        {
            return new GatewayVerdict.Refused(RefusalReason.BadFrame, subject, problem, device.DistrictCode);
        }

        // Any gateway in range may relay a real alarm; a walk test runs at the device's own gateway.
        if (alarm.Test && device.GatewayId != gatewayId)
        {
            return new GatewayVerdict.Refused(RefusalReason.ForeignTest, subject, "test alarm for a device bound to " + device.GatewayId, device.DistrictCode);
        }

        return new GatewayVerdict.Allowed(device, frame);
    }

    private async Task<GatewayVerdict> AckRelayedAsync(string gatewayId, AckRelayedEnvelope relayed, CancellationToken cancellationToken)
    {
        if (!AlarmKey.TryParse(relayed.Key, out AlarmKey key))
        {
            return new GatewayVerdict.Malformed("ack-relayed key is not DEVICEID:COUNTER");
        }

        string? relayer = await alarms.GatewayOfAsync(key.ToString(), cancellationToken);
        return relayer is null || relayer == gatewayId
            ? new GatewayVerdict.Allowed(null, null)
            : new GatewayVerdict.Refused(RefusalReason.OtherGatewaysAlarm, key.ToString(), "ack-relayed for an alarm relayed by " + relayer, "");
    }

    private DeviceOnRecord? OnRecord(uint deviceId, DeviceBinding? binding)
    {
        if (binding is not null)
        {
            return new DeviceOnRecord(deviceId, binding.GatewayId, binding.Profile, binding.Site, binding.DistrictCode);
        }

        // The city's lights file names the gateway of every smart streetlight.
        return lights.TryFind(deviceId, out Streetlight? light) && light is not null
            ? new DeviceOnRecord(deviceId, light.GatewayId, "streetlight", new SiteInfo("street", light.Latitude, light.Longitude, ""), light.DistrictCode)
            : null;
    }

    private static Frame? VerifiedFrame(string? frameHex, byte[] frameKey, AlarmKey key, out string problem)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromHexString(frameHex ?? "");
        }
        catch (FormatException)
        {
            problem = "alarm frame is not hex";
            return null;
        }

        // The protocol's own decoder and tag check (a new codec per call: it keeps a MAC buffer). A version-2 frame must
        // resolve under the device's uplink id key and open under its keys of the epoch it names (protocol/README.md §10).
        var mac = new PlatformHmacSha256();
        FrameReadResult read = FrameCodecV2.IsVersion2(bytes, 0, bytes.Length)
            ? new FrameCodecV2(mac).Decode(bytes, 0, bytes.Length, FrameDirectionBit.Uplink, key.DeviceId, new FrameKeySet(mac, frameKey, 0))
            : new FrameCodec(mac).Decode(bytes, 0, bytes.Length, frameKey);
        if (!read.IsOk || read.Frame is not { } frame)
        {
            problem = "alarm frame rejected: " + FrameErrorName.Of(read.Error);
            return null;
        }

        if (frame.Type != FrameType.Alarm || frame.DeviceId != key.DeviceId || frame.Counter != key.Counter)
        {
            problem = "alarm frame is not this key's alarm";
            return null;
        }

        problem = "";
        return frame;
    }
}
