using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Ingress;

/// <summary>Field checks shared by the envelope handlers.</summary>
public static class EnvelopeChecks
{
    public static bool IsContactIdEvent(ContactIdEvent? e) =>
        e is not null && e.Code is >= 0 and <= ContactIdCode.Max && e.Qualifier is >= 0 and <= 9 && e.Zone is >= 0 and <= 999;

    public static bool IsValidSite(SiteInfo? site) =>
        site is not null && site.Kind is not null && site.Address is not null && double.IsFinite(site.Latitude) &&
        double.IsFinite(site.Longitude) && Math.Abs(site.Latitude) <= 90 && Math.Abs(site.Longitude) <= 180;
}
