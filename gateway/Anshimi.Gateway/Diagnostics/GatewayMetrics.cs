using System.Diagnostics.Metrics;

namespace Anshimi.Gateway.Diagnostics;

/// <summary>The gateway's instruments. Reject reasons are the stable names from FrameErrorName plus the gateway's own.</summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "Anshimi.Gateway";

    private readonly Counter<long> _alarmsReceived;
    private readonly Counter<long> _framesRejected;
    private readonly Counter<long> _heartbeats;
    private readonly Counter<long> _acksSent;
    private readonly Counter<long> _acksRelayed;
    private readonly Counter<long> _acksDropped;
    private readonly Counter<long> _outboxPublished;
    private readonly Counter<long> _receipts;
    private readonly Counter<long> _commandsRejected;
    private readonly Counter<long> _recordsPurged;
    private readonly Counter<long> _troublesDropped;
    private readonly Counter<long> _framesV1;
    private readonly Counter<long> _rekeys;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        _alarmsReceived = Meter.CreateCounter<long>("anshimi.gateway.alarms.received", "{alarm}", "Authenticated alarms from devices, by outcome: stored (durably, then acked) or duplicate (already stored; re-acked, not stored again).");
        _framesRejected = Meter.CreateCounter<long>("anshimi.gateway.frames.rejected", "{frame}", "Device uplinks refused, by reason.");
        _heartbeats = Meter.CreateCounter<long>("anshimi.gateway.heartbeats", "{heartbeat}", "Authenticated device heartbeats.");
        _acksSent = Meter.CreateCounter<long>("anshimi.gateway.acks.sent", "{frame}", "Ack frames published to device downlinks, by stage.");
        _acksDropped = Meter.CreateCounter<long>("anshimi.gateway.acks.dropped", "{frame}", "Ack frames dropped because Gateway:MaxPendingAcks already waited for the box broker.");
        _acksRelayed = Meter.CreateCounter<long>("anshimi.gateway.acks.relayed", "{acknowledgement}", "Operator acknowledgements relayed to a device, by stage.");
        _outboxPublished = Meter.CreateCounter<long>("anshimi.gateway.outbox.published", "{envelope}", "Alarm envelopes published upstream, resends included.");
        _receipts = Meter.CreateCounter<long>("anshimi.gateway.outbox.receipts", "{receipt}", "Cloud receipts that cleared an outbox row.");
        _commandsRejected = Meter.CreateCounter<long>("anshimi.gateway.commands.rejected", "{command}", "Cloud commands ignored, by reason.");
        _troublesDropped = Meter.CreateCounter<long>("anshimi.gateway.troubles.dropped", "{trouble}", "Unsent troubles dropped at the outbox bound, by reason: superseded (a later one of the same device, condition and qualifier is kept) or oldest.");
        _framesV1 = Meter.CreateCounter<long>("anshimi.gateway.frames.v1", "{frame}", "Authenticated version-1 device frames: their devices still need a firmware update (frame_version in the registry names them).");
        _rekeys = Meter.CreateCounter<long>("anshimi.gateway.rekeys", "{frame}", "Re-keys of devices' uplink key epochs, by outcome: sent (a re-key frame), moved (the device's frames show the new epoch), last_epoch (at 255: to be claimed again).");
        _recordsPurged = Meter.CreateCounter<long>("anshimi.gateway.records.purged", "{record}", "Delivered records deleted at the end of their retention, by kind.");
    }

    public Meter Meter { get; }

    public void AlarmStored() => _alarmsReceived.Add(1, new KeyValuePair<string, object?>("outcome", "stored"));

    public void AlarmDuplicate() => _alarmsReceived.Add(1, new KeyValuePair<string, object?>("outcome", "duplicate"));

    public void FrameRejected(string reason) => _framesRejected.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Heartbeat() => _heartbeats.Add(1);

    public void FrameV1() => _framesV1.Add(1);

    public void Rekeyed(string outcome) => _rekeys.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void AckSent(string stage) => _acksSent.Add(1, new KeyValuePair<string, object?>("stage", stage));

    public void AckDropped() => _acksDropped.Add(1);

    public void AckRelayed(string stage) => _acksRelayed.Add(1, new KeyValuePair<string, object?>("stage", stage));

    public void OutboxPublished() => _outboxPublished.Add(1);

    public void ReceiptApplied() => _receipts.Add(1);

    public void CommandRejected(string reason) => _commandsRejected.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void TroubleDropped(string reason) => _troublesDropped.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void RecordsPurged(string kind, int count) => _recordsPurged.Add(count, new KeyValuePair<string, object?>("kind", kind));

    /// <summary>Registers a gauge read at collection time; a read that fails leaves the gauge out of that collection.</summary>
    public void ObserveGauge(string name, string unit, string description, Func<long> read) =>
        Meter.CreateObservableGauge(name, () => Observe(read), unit, description);

    private static IEnumerable<Measurement<long>> Observe(Func<long> read)
    {
        long value;
        try
        {
            value = read();
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return [];
        }

        return [new Measurement<long>(value)];
    }
}
