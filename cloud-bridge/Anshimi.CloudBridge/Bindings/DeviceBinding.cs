using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Bindings;

/// <summary>
/// The cloud's record of which gateway may speak for a device, where the device is installed and the key its frames
/// are signed with. <see cref="DistrictCode"/> comes from the cloud's own boundaries.
/// </summary>
public sealed record DeviceBinding(
    uint DeviceId,
    string GatewayId,
    byte[] FrameKey,
    string Profile,
    SiteInfo Site,
    string DistrictCode,
    DateTimeOffset BoundAt)
{
    /// <summary>Log-safe: no key.</summary>
    public override string ToString() => Protocol.DeviceIdText.Format(DeviceId) + " at " + GatewayId;
}

/// <summary>What a gateway's <c>device-bound</c> did to the cloud's record.</summary>
public enum BindingChange
{
    /// <summary>The device was bound to no gateway and now is to this one.</summary>
    Bound,

    /// <summary>Already this gateway's; its site, profile or key changed.</summary>
    Updated,

    /// <summary>Already this gateway's, unchanged.</summary>
    Unchanged,

    /// <summary>Bound to another gateway: nothing changed (only a re-home moves a device).</summary>
    BoundElsewhere,
}
