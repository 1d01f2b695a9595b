using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Devices;

/// <summary>
/// <c>device-status</c>: keeps the newest health of each device, at the site and in the district of the cloud's own
/// record. Times from the future are the cloud's now, so no status can outrank the ones after it.
/// </summary>
public sealed class DeviceStatusHandler(DeviceHealthStore devices, RelayStatistics statistics, TimeProvider time) : GatewayEnvelopeHandler<DeviceStatusEnvelope>
{
    protected override async Task<string?> HandleAsync(GatewayEnvelope message, DeviceStatusEnvelope status, CancellationToken cancellationToken)
    {
        if (status.GatewayId != message.GatewayId || !DeviceIdText.TryParse(status.DeviceId, out _) || status.Health is null ||
            string.IsNullOrEmpty(status.Profile) || !EnvelopeChecks.IsValidSite(status.Site))
        {
            return "device-status with bad gatewayId, deviceId, site or health";
        }

        if (message.Device is not { } device)
        {
            throw new InvalidOperationException("device-status reached its handler without the device's record");
        }

        DateTimeOffset now = time.GetUtcNow();
        status = status with
        {
            Profile = device.Profile,
            Site = device.Site,
            At = status.At > now ? now : status.At,
            LastSeen = status.LastSeen > now ? now : status.LastSeen,
        };
        await devices.RecordStatusAsync(status, device.DistrictCode, cancellationToken);
        statistics.DeviceStatusSeen();
        return null;
    }
}
