using System.Collections.Concurrent;
using Anshimi.CloudBridge.Streetlights;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>The last reported outcome of each light (confirmed, expired, unknown-light, superseded), as its gateway told it.</summary>
public sealed record LightOutcomeRecord(string LightId, string GatewayId, string RequestId, string Mode, string Outcome, DateTimeOffset At);

/// <summary>Per-light outcomes of light commands, reported by the gateways (<c>light-outcome</c> envelopes).</summary>
public sealed class LightOutcomeLog
{
    private readonly ConcurrentDictionary<uint, LightOutcomeRecord> _latest = new();
    private long _confirmed;
    private long _failed;

    public long Confirmed => Interlocked.Read(ref _confirmed);

    /// <summary>Outcomes other than confirmed: expired or unknown to the gateway.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Records one outcome; returns a reason when the envelope is not a valid outcome (nothing is recorded then).</summary>
    public string? Record(string gatewayId, LightOutcomeEnvelope outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome.GatewayId != gatewayId)
        {
            return "light-outcome gatewayId differs from its topic";
        }

        if (!DeviceIdText.TryParse(outcome.LightId, out uint lightId) || lightId is < Streetlight.FirstId or > Streetlight.LastId)
        {
            return "light-outcome lightId is not a streetlight id";
        }

        if (!LightModeName.TryParse(outcome.Mode, out _) ||
            outcome.Outcome is not (LightOutcomeName.Confirmed or LightOutcomeName.Expired or LightOutcomeName.UnknownLight or LightOutcomeName.Superseded) ||
            string.IsNullOrEmpty(outcome.RequestId) || outcome.RequestId.Length > 64)
        {
            return "light-outcome has an unknown mode, outcome or request id";
        }

        var record = new LightOutcomeRecord(DeviceIdText.Format(lightId), gatewayId, outcome.RequestId, outcome.Mode, outcome.Outcome, outcome.At);

        // Outcomes may arrive out of order after a reconnect: the newest wins.
        _latest.AddOrUpdate(lightId, record, (_, old) => old.At > record.At ? old : record);
        // A superseded command was replaced by a newer one for the same light: neither kept nor failed.
        if (outcome.Outcome != LightOutcomeName.Superseded)
        {
            Interlocked.Increment(ref outcome.Outcome == LightOutcomeName.Confirmed ? ref _confirmed : ref _failed);
        }

        return null;
    }

    public LightOutcomeRecord? Latest(uint lightId) => _latest.TryGetValue(lightId, out LightOutcomeRecord? record) ? record : null;
}
