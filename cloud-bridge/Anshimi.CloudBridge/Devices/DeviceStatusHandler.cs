using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Devices;

/// <summary><c>device-status</c>: keeps the newest site and health of each device.</summary>
public sealed class DeviceStatusHandler(DeviceHealthStore devices, DistrictDirectory districts, RelayStatistics statistics) : GatewayEnvelopeHandler<DeviceStatusEnvelope>
{
    protected override async Task<string?> HandleAsync(string gatewayId, DeviceStatusEnvelope status, CancellationToken cancellationToken)
    {
        if (status.GatewayId != gatewayId || !DeviceIdText.TryParse(status.DeviceId, out _) || status.Health is null ||
            string.IsNullOrEmpty(status.Profile) || !EnvelopeChecks.IsValidSite(status.Site))
        {
            return "device-status with bad gatewayId, deviceId, site or health";
        }

        // The cloud's own district boundaries decide who sees the device, not the gateway's label.
        string district = districts.Resolve(status.Site.Latitude, status.Site.Longitude);
        await devices.RecordStatusAsync(status, district, cancellationToken);
        statistics.DeviceStatusSeen();
        return null;
    }
}
