using System.Globalization;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Ingress;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Devices;

/// <summary><c>trouble</c>: stores a trouble the gateway detected once by its <c>{gatewayId}/{sequence}</c> key, then receipts it.</summary>
public sealed partial class TroubleHandler(
    DeviceHealthStore devices,
    DistrictDirectory districts,
    RelayStatistics statistics,
    GatewayReplies replies,
    TimeProvider time,
    ILogger<TroubleHandler> logger) : GatewayEnvelopeHandler<TroubleEnvelope>
{
    protected override async Task<string?> HandleAsync(GatewayEnvelope message, TroubleEnvelope trouble, CancellationToken cancellationToken)
    {
        string gatewayId = message.GatewayId;
        string? problem = Validate(trouble, gatewayId);
        if (problem is not null)
        {
            return problem;
        }

        // A device's site is the cloud's record; only the box's own troubles (device 00000000) carry the box's site.
        if (message.Device is { } device)
        {
            trouble = trouble with { Profile = device.Profile, Site = device.Site };
        }

        string district = message.Device?.DistrictCode ?? districts.Resolve(trouble.Site.Latitude, trouble.Site.Longitude);
        if (await devices.StoreTroubleAsync(trouble, district, time.GetUtcNow(), cancellationToken))
        {
            statistics.TroubleStored();
            LogTroubleStored(logger, trouble.Key, trouble.Event.Code, trouble.Event.Qualifier, trouble.DeviceId, district);
        }
        else
        {
            statistics.DuplicateSeen();
        }

        // Like an alarm: the gateway re-sends the trouble until it hears this receipt.
        replies.Send(gatewayId, new AlarmReceiptEnvelope(trouble.Key));
        return null;
    }

    private static string? Validate(TroubleEnvelope trouble, string gatewayId)
    {
        string prefix = gatewayId + "/";
        if (trouble.Key is null || !trouble.Key.StartsWith(prefix, StringComparison.Ordinal) ||
            !ulong.TryParse(trouble.Key.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return "trouble key is not {gatewayId}/{sequence} of its topic's gateway";
        }

        if (trouble.GatewayId != gatewayId || !DeviceIdText.TryParse(trouble.DeviceId, out _))
        {
            return "trouble gatewayId or deviceId invalid";
        }

        if (!EnvelopeChecks.IsContactIdEvent(trouble.Event) || string.IsNullOrEmpty(trouble.Profile) || !EnvelopeChecks.IsValidSite(trouble.Site))
        {
            return "trouble event, profile or site invalid";
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Trouble {Key} (event {Code}/{Qualifier}) for device {Device} stored for district {District}")]
    private static partial void LogTroubleStored(ILogger logger, string key, int code, int qualifier, string device, string district);
}
