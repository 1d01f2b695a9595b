namespace Anshimi.CloudBridge.Firmware;

/// <summary>Section <c>Firmware</c>: the release keys the cloud trusts and the rollout's timing.</summary>
public sealed class FirmwareOptions
{
    public const string SectionName = "Firmware";

    /// <summary>Ed25519 public keys (64 hex digits each) whose releases the cloud accepts; none means every upload is refused.</summary>
    public List<string> ReleaseKeys { get; } = [];

    /// <summary>How long a stage may run; devices not final by then count as failed (<c>timed-out</c>).</summary>
    public TimeSpan StageTimeout { get; set; } = TimeSpan.FromHours(24);

    /// <summary>An offer no gateway answered for a device is sent again after this long.</summary>
    public TimeSpan OfferRetry { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a gateway keeps working on an offer (<c>expiresAt</c>).</summary>
    public TimeSpan OfferLifetime { get; set; } = TimeSpan.FromDays(2);

    /// <summary>How often running rollouts are checked (also after every state report).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The default success rate a stage must reach before the next starts.</summary>
    public double SuccessThreshold { get; set; } = 0.95;

    /// <summary>The default share of a stage's devices that may fail before the rollout halts.</summary>
    public double FailureThreshold { get; set; } = 0.05;

    public IEnumerable<byte[]> PublicKeys() => ReleaseKeys.Select(key => Convert.FromHexString(key));

    public bool KeysAreValid() => ReleaseKeys.All(key => Protocol.Releases.ReleaseKey.ParsePublicKey(key) is not null);
}
