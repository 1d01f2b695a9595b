using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Bindings;

/// <summary>
/// <c>device-bound</c>: a gateway introduces a device it serves (after the installer's bind) or updates its site or key.
/// The authorization has already refused it for a device bound to another gateway; a new binding and every change
/// are audited, and every accepted copy is answered with <c>device-bound-receipt</c>.
/// </summary>
public sealed partial class DeviceBoundHandler(
    DeviceBindingStore bindings,
    DistrictDirectory districts,
    AuditLog audit,
    GatewayReplies replies,
    TimeProvider time,
    ILogger<DeviceBoundHandler> logger) : GatewayEnvelopeHandler<DeviceBoundEnvelope>
{
    public const string AuditAction = "device-bound";

    protected override async Task<string?> HandleAsync(GatewayEnvelope message, DeviceBoundEnvelope bound, CancellationToken cancellationToken)
    {
        string gatewayId = message.GatewayId;
        if (bound.GatewayId != gatewayId || !DeviceIdText.TryParse(bound.DeviceId, out uint deviceId))
        {
            return "device-bound gatewayId differs from its topic or deviceId is not 8 hex digits";
        }

        if (string.IsNullOrEmpty(bound.Profile) || bound.Profile.Length > 32 || !EnvelopeChecks.IsValidSite(bound.Site) ||
            bound.FrameKeyHex is not { Length: 64 } || !bound.FrameKeyHex.All(char.IsAsciiHexDigit))
        {
            return "device-bound profile, site or frameKey (64 hex digits) invalid";
        }

        string district = districts.Resolve(bound.Site.Latitude, bound.Site.Longitude);
        BindingChange change = await bindings.BindDeviceAsync(
            gatewayId, deviceId, Convert.FromHexString(bound.FrameKeyHex), bound.Profile, bound.Site, district, time.GetUtcNow(), cancellationToken);
        if (change == BindingChange.BoundElsewhere)
        {
            return "device-bound for a device another gateway took meanwhile";
        }

        if (change != BindingChange.Unchanged)
        {
            string device = DeviceIdText.Format(deviceId);
            LogBound(logger, device, gatewayId, district, change);
            await audit.AppendAsync(
                new AuditEntry("gateway:" + gatewayId, AuditAction, device, district, AuditOutcome.Done, change == BindingChange.Bound ? "bound" : "site, profile or key changed"),
                cancellationToken);
        }

        replies.Send(gatewayId, new DeviceBoundReceiptEnvelope(DeviceIdText.Format(deviceId)));
        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} bound to gateway {Gateway} in district {District} ({Change})")]
    private static partial void LogBound(ILogger logger, string deviceId, string gateway, string district, BindingChange change);
}
