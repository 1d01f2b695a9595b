using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Ingress;

/// <summary>A device as the cloud's own record has it: the gateway it is bound to, its profile, site and district.</summary>
public sealed record DeviceOnRecord(uint DeviceId, string GatewayId, string Profile, SiteInfo Site, string DistrictCode);

/// <summary>
/// An envelope the ingress accepted from <see cref="GatewayId"/> (taken from the topic the broker confines that gateway
/// to), with what the authorization established: the device it is about, on the cloud's record, and for an alarm the
/// device's own frame, verified under that device's key.
/// </summary>
public sealed record GatewayEnvelope(string GatewayId, Envelope Envelope, DeviceOnRecord? Device, Frame? VerifiedFrame);

/// <summary>The authorization's answer for one envelope.</summary>
public abstract record GatewayVerdict
{
    private GatewayVerdict()
    {
    }

    /// <summary>The gateway may send this; <see cref="Device"/> is null for envelopes about no device (heartbeats, the box's own troubles).</summary>
    public sealed record Allowed(DeviceOnRecord? Device, Frame? VerifiedFrame) : GatewayVerdict;

    /// <summary>Not well-formed enough to say whom it is about: dropped and counted like any malformed envelope.</summary>
    public sealed record Malformed(string Problem) : GatewayVerdict;

    /// <summary>
    /// Well-formed, but not this gateway's to send: refused, counted by <see cref="Reason"/> and audited as a security event.
    /// </summary>
    public sealed record Refused(string Reason, string Subject, string Detail, string DistrictCode) : GatewayVerdict;
}

/// <summary>Decides, once per envelope and before any handler, whether the sending gateway may speak for what the envelope is about.</summary>
public interface IGatewayAuthorization
{
    Task<GatewayVerdict> AuthorizeAsync(string gatewayId, Envelope envelope, CancellationToken cancellationToken);
}

/// <summary>Why envelopes are refused (the <c>reason</c> label of <c>anshimi_cloud_bridge_envelopes_refused_total</c>).</summary>
public static class RefusalReason
{
    /// <summary>The device is bound to no gateway.</summary>
    public const string UnboundDevice = "unbound_device";

    /// <summary>The device is bound to another gateway.</summary>
    public const string OtherGatewaysDevice = "other_gateways_device";

    /// <summary>A device id only the cloud may use (app emergency reports).</summary>
    public const string ReservedDevice = "reserved_device";

    /// <summary>An alarm whose frame is missing or does not verify under its device's key, or says something else than the envelope.</summary>
    public const string BadFrame = "bad_frame";

    /// <summary>A test alarm from a gateway that is not the device's own (walk tests run at the device's gateway).</summary>
    public const string ForeignTest = "foreign_test";

    /// <summary>An ack-relayed for an alarm whose acknowledgement went to another gateway.</summary>
    public const string OtherGatewaysAlarm = "other_gateways_alarm";

    /// <summary>A second, different claim for an alarm key already stored: kept beside the first and flagged.</summary>
    public const string ConflictingClaim = "conflicting_claim";
}
