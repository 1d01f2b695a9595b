using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Hosting;

namespace Anshimi.CloudBridge.Ingress;

/// <summary>
/// Security events at the ingress: envelopes a gateway was not allowed to send, and conflicting claims for one alarm
/// key. Each is counted by reason (<c>anshimi_cloud_bridge_envelopes_refused_total{reason}</c>, <c>GET /api/status</c>)
/// and written to the audit log for central staff — once per gateway, reason and subject a minute and at most
/// <see cref="MaxAuditedPerMinute"/> rows per gateway and reason a minute, so a hostile gateway cannot flood the log;
/// the counter counts every one.
/// </summary>
public sealed partial class GatewayRefusals
{
    public const string AuditAction = "gateway-refused";
    public const int MaxAuditedPerMinute = 20;
    public static readonly TimeSpan AuditWindow = TimeSpan.FromMinutes(1);
    private const int MaxRemembered = 10_000;

    private readonly ConcurrentDictionary<string, long> _byReason = new(StringComparer.Ordinal);
    private readonly Dictionary<(string, string, string), DateTimeOffset> _lastAudited = [];
    private readonly Dictionary<(string, string), (DateTimeOffset Since, int Rows)> _auditedPerReason = [];
    private readonly AuditLog _audit;
    private readonly TimeProvider _time;
    private readonly ILogger<GatewayRefusals> _logger;

    public GatewayRefusals(AuditLog audit, TimeProvider time, IMeterFactory meterFactory, ILogger<GatewayRefusals> logger)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _audit = audit;
        _time = time;
        _logger = logger;
        meterFactory.Create(CloudBridgeTelemetry.MeterName).CreateObservableCounter(
            "anshimi.cloud_bridge.envelopes.refused", Observe, "{envelope}",
            "Envelopes a gateway was not allowed to send, and conflicting alarm claims, by reason; each is a security event in the audit log.");
    }

    public IReadOnlyDictionary<string, long> ByReason => new Dictionary<string, long>(_byReason, StringComparer.Ordinal);

    public long Count(string reason) => _byReason.TryGetValue(reason, out long count) ? count : 0;

    public async Task ReportAsync(string gatewayId, GatewayVerdict.Refused refusal, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        _byReason.AddOrUpdate(refusal.Reason, 1, (_, n) => n + 1);
        if (!ShouldAudit(gatewayId, refusal))
        {
            return;
        }

        LogRefused(_logger, gatewayId, refusal.Reason, refusal.Subject, refusal.Detail);
        await _audit.AppendAsync(
            new AuditEntry("gateway:" + gatewayId, AuditAction, refusal.Subject, refusal.DistrictCode, refusal.Reason, refusal.Detail),
            cancellationToken);
    }

    private bool ShouldAudit(string gatewayId, GatewayVerdict.Refused refusal)
    {
        DateTimeOffset now = _time.GetUtcNow();
        lock (_lastAudited)
        {
            var subject = (gatewayId, refusal.Reason, refusal.Subject);
            if (_lastAudited.TryGetValue(subject, out DateTimeOffset last) && now - last < AuditWindow)
            {
                return false;
            }

            (DateTimeOffset since, int rows) = _auditedPerReason.GetValueOrDefault((gatewayId, refusal.Reason), (now, 0));
            if (now - since >= AuditWindow)
            {
                (since, rows) = (now, 0);
            }

            if (rows >= MaxAuditedPerMinute)
            {
                return false;
            }

            _auditedPerReason[(gatewayId, refusal.Reason)] = (since, rows + 1);
            if (_lastAudited.Count >= MaxRemembered)
            {
                foreach (var stale in _lastAudited.Where(e => now - e.Value >= AuditWindow).Select(e => e.Key).ToList())
                {
                    _lastAudited.Remove(stale);
                }
            }

            _lastAudited[subject] = now;
            return true;
        }
    }

    private IEnumerable<Measurement<long>> Observe() =>
        _byReason.Select(pair => new Measurement<long>(pair.Value, new KeyValuePair<string, object?>("reason", pair.Key)));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Security: gateway {Gateway} refused ({Reason}) for {Subject}: {Detail}")]
    private static partial void LogRefused(ILogger logger, string gateway, string reason, string subject, string detail);
}
