using System.Diagnostics.Metrics;
using Anshimi.Gateway.Diagnostics;

namespace Anshimi.Gateway.Provisioning;

/// <summary>Provisioning's counters, on the gateway's meter (so /metrics shows them).</summary>
public sealed class ProvisioningMetrics
{
    public const string Malformed = "malformed";
    public const string TopicMismatch = "topic_mismatch";
    public const string BadTopic = "bad_topic";
    public const string BoardFull = "board_full";

    /// <summary>A version-1 hello: its device must be re-flashed and relabelled before a version-2 box claims it.</summary>
    public const string Version1 = "version_1";

    /// <summary>Another hello for an id that already has its limit of distinct hellos listed.</summary>
    public const string Conflict = "conflict";

    /// <summary>A new distinct hello for a listed id sooner than the per-id interval allows.</summary>
    public const string RateLimited = "rate_limited";

    private readonly Counter<long> _hellos;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _claims;

    public ProvisioningMetrics(IMeterFactory meterFactory)
    {
        Meter meter = meterFactory.Create(GatewayMetrics.MeterName);
        _hellos = meter.CreateCounter<long>("anshimi.gateway.provisioning.hellos", "{message}", description: "Well-formed hellos from unclaimed devices.");
        _dropped = meter.CreateCounter<long>("anshimi.gateway.provisioning.dropped", "{message}", description: "Provisioning messages dropped, by reason.");
        _claims = meter.CreateCounter<long>("anshimi.gateway.provisioning.claims", "{claim}", description: "Claim attempts, by outcome.");
    }

    public void Hello() => _hellos.Add(1);

    public void Dropped(string reason) => _dropped.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Claim(string outcome) => _claims.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}
