using System.Diagnostics;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Outbox;

/// <summary>
/// Forwards stored alarms to the cloud bridge as <see cref="AlarmEnvelope"/>s and sends each again,
/// with backoff, until the cloud's receipt removes its row. Rows live in SQLite, so a restart
/// resumes where the last run stopped.
/// </summary>
public sealed class AlarmOutbox(
    [FromKeyedServices(CloudLink.SessionKey)] MqttSession mqtt,
    AlarmStore store,
    OutboxSignal signal,
    RedeliveryPolicy retryPolicy,
    IOptions<GatewayOptions> options,
    GatewayMetrics metrics,
    TimeProvider time,
    ILogger<AlarmOutbox> logger)
    : OutboxWorker<OutboxItem>(mqtt, signal, retryPolicy, options.Value.Id, time, logger)
{
    public override Envelope ToEnvelope(OutboxItem row)
    {
        using Activity? send = GatewayTelemetry.StartSend(row);
        return AlarmEnvelopeOf(row).WithTraceContext(send);
    }

    private AlarmEnvelope AlarmEnvelopeOf(OutboxItem row) => new(
        Key: row.Key,
        GatewayId: GatewayId,
        DeviceId: DeviceIdText.Format(row.AlarmKey.DeviceId),
        Counter: row.AlarmKey.Counter,
        Event: new ContactIdEvent(row.EventCode, row.Qualifier, row.Zone),
        Profile: row.Profile,
        Site: row.Site,
        Test: row.Test,
        ReceivedAt: row.ReceivedAt,
        FrameHex: Convert.ToHexStringLower(row.Frame));

    protected override Task<IReadOnlyList<OutboxItem>> GetDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        store.GetDueAsync(now, limit, cancellationToken);

    protected override Task RecordAttemptAsync(long sequence, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken) =>
        store.RecordAttemptAsync(sequence, attempts, nextAttemptAt, cancellationToken);

    protected override Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken) => store.GetNextDueAsync(cancellationToken);

    protected override void OnPublished(OutboxItem row) => metrics.OutboxPublished();
}
