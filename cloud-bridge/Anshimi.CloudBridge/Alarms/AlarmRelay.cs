using System.Diagnostics;
using System.Threading.Channels;
using System.Globalization;
using Anshimi.CloudBridge.Acks;
using Anshimi.CloudBridge.Devices;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Snapshots;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Alarms;

/// <summary>
/// Owns the bridge's MQTT session: takes every gateway's events (QoS 1, persistent session), stores
/// each alarm once by its idempotency key, answers every copy with a receipt after the write is
/// durable, and tells live consoles about alarms they have not seen.
/// </summary>
public sealed partial class AlarmRelay : BackgroundService
{
    private readonly MqttSession _mqtt;
    private readonly AlarmStore _store;
    private readonly CloudSnapshotStore _snapshots;
    private readonly DeviceHealthStore _devices;
    private readonly DistrictDirectory _districts;
    private readonly AlarmFeed _feed;
    private readonly RelayStatistics _statistics;
    private readonly MalformedEnvelopeLog _malformed;
    private readonly LightOutcomeLog _lightOutcomes;
    private readonly CloudBridgeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<AlarmRelay> _logger;

    // The network thread only enqueues; the gateways' outboxes bound how much can be in flight.
    private readonly Channel<MqttMessage> _inbox =
        Channel.CreateUnbounded<MqttMessage>(new UnboundedChannelOptions { SingleReader = true });

    public AlarmRelay(
        MqttSession mqtt,
        AlarmStore store,
        CloudSnapshotStore snapshots,
        DeviceHealthStore devices,
        DistrictDirectory districts,
        AlarmFeed feed,
        RelayStatistics statistics,
        MalformedEnvelopeLog malformed,
        LightOutcomeLog lightOutcomes,
        IOptions<CloudBridgeOptions> options,
        TimeProvider time,
        ILogger<AlarmRelay> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _mqtt = mqtt;
        _store = store;
        _snapshots = snapshots;
        _devices = devices;
        _districts = districts;
        _feed = feed;
        _statistics = statistics;
        _malformed = malformed;
        _lightOutcomes = lightOutcomes;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>True once the broker has confirmed the events subscription on the current connection.</summary>
    public bool IsSubscribed => _mqtt.State == MqttConnectionState.Connected;

    /// <summary>Handles one message from a gateway events topic; never throws for bad input.</summary>
    public async Task HandleAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        string? gatewayId = Topics.GatewayIdOf(topic);
        if (gatewayId is null || topic != Topics.GatewayEvents(gatewayId))
        {
            Drop(topic, "not a gateway events topic");
            return;
        }

        if (!EnvelopeSerializer.TryParse(payload.Span, out Envelope? envelope, out string error))
        {
            Drop(topic, error);
            return;
        }

        switch (envelope)
        {
            case AlarmEnvelope alarm:
                await HandleAlarmAsync(topic, gatewayId, alarm, cancellationToken);
                break;
            case GatewayHeartbeatEnvelope heartbeat when heartbeat.GatewayId != gatewayId:
                Drop(topic, "heartbeat gatewayId differs from its topic");
                break;
            case GatewayHeartbeatEnvelope heartbeat:
                await _store.RecordHeartbeatAsync(gatewayId, _time.GetUtcNow(), heartbeat.OutboxDepth, cancellationToken);
                _statistics.HeartbeatSeen();
                break;
            case AckRelayedEnvelope relayed:
                await HandleAckRelayedAsync(topic, relayed, cancellationToken);
                break;
            case SnapshotEnvelope snapshot:
                await HandleSnapshotAsync(topic, gatewayId, snapshot, cancellationToken);
                break;
            case TroubleEnvelope trouble:
                await HandleTroubleAsync(topic, gatewayId, trouble, cancellationToken);
                break;
            case DeviceStatusEnvelope status:
                await HandleDeviceStatusAsync(topic, gatewayId, status, cancellationToken);
                break;
            case LightOutcomeEnvelope outcome:
                if (_lightOutcomes.Record(gatewayId, outcome) is { } problem)
                {
                    Drop(topic, problem);
                }

                break;
            default:
                Drop(topic, "unexpected envelope " + envelope!.GetType().Name + " on a gateway events topic");
                break;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The session subscribes before it reports Connected, and again whenever the broker lost the session.
        _mqtt.AddSubscription(Topics.AllGatewayEvents, MqttQos.AtLeastOnce, OnMessageAsync);
        _mqtt.StateChanged += OnStateChanged;
        try
        {
            await ConnectAsync(stoppingToken);
            await ProcessInboxAsync(stoppingToken);
        }
        finally
        {
            _mqtt.StateChanged -= OnStateChanged;
        }
    }

    private async Task HandleAlarmAsync(string topic, string gatewayId, AlarmEnvelope alarm, CancellationToken cancellationToken)
    {
        using Activity? ingest = CloudBridgeTelemetry.StartIngest(alarm, gatewayId);
        string? problem = Validate(alarm, gatewayId, out AlarmKey key);
        if (problem is not null)
        {
            Drop(topic, problem);
            return;
        }

        string keyText = key.ToString();

        // Outside Seoul the alarm is still kept (district "unknown"): routing may fail, the alarm may not.
        SiteArea area = _districts.Locate(alarm.Site.Latitude, alarm.Site.Longitude);
        bool isNew = await _store.StoreAlarmAsync(alarm, keyText, area, _time.GetUtcNow(), cancellationToken);
        if (isNew)
        {
            _statistics.AlarmStored();

            // The console hears first: an operator must not wait on the broker's PUBACK for the receipt.
            AlarmRecord? stored = await _store.FindAsync(keyText, cancellationToken);
            if (stored is not null)
            {
                _feed.Publish(new AlarmFeedEvent(AlarmFeedEvent.NewAlarm, AlarmView.From(stored, _districts)));
            }

            LogAlarmStored(_logger, keyText, alarm.Event.Code, area.DistrictCode, gatewayId);
        }
        else
        {
            _statistics.DuplicateSeen();
        }

        // A duplicate means the gateway missed our receipt: answer every copy.
        using Activity? receipt = CloudBridgeTelemetry.Source.StartActivity("alarm.receipt", ActivityKind.Producer);
        await PublishAsync(Topics.GatewayCommands(gatewayId), new AlarmReceiptEnvelope(keyText), cancellationToken);
    }

    private async Task HandleSnapshotAsync(string topic, string gatewayId, SnapshotEnvelope snapshot, CancellationToken cancellationToken)
    {
        string? problem = CloudSnapshotStore.Validate(snapshot, gatewayId);
        if (problem is not null)
        {
            Drop(topic, problem);
            return;
        }

        // Stored (or found already stored) and durable before the receipt, as for alarms.
        await _snapshots.StoreAsync(snapshot, _time.GetUtcNow(), cancellationToken);
        await PublishAsync(Topics.GatewayCommands(gatewayId), new SnapshotReceiptEnvelope(AlarmKey.TryParse(snapshot.Key, out AlarmKey key) ? key.ToString() : snapshot.Key), cancellationToken);
    }

    private async Task HandleTroubleAsync(string topic, string gatewayId, TroubleEnvelope trouble, CancellationToken cancellationToken)
    {
        string? problem = ValidateTrouble(trouble, gatewayId);
        if (problem is not null)
        {
            Drop(topic, problem);
            return;
        }

        string district = _districts.Resolve(trouble.Site.Latitude, trouble.Site.Longitude);
        if (await _devices.StoreTroubleAsync(trouble, district, _time.GetUtcNow(), cancellationToken))
        {
            _statistics.TroubleStored();
            LogTroubleStored(_logger, trouble.Key, trouble.Event.Code, trouble.Event.Qualifier, trouble.DeviceId, district);
        }
        else
        {
            _statistics.DuplicateSeen();
        }

        // Like an alarm: the gateway re-sends the trouble until it hears this receipt.
        await PublishAsync(Topics.GatewayCommands(gatewayId), new AlarmReceiptEnvelope(trouble.Key), cancellationToken);
    }

    private async Task HandleDeviceStatusAsync(string topic, string gatewayId, DeviceStatusEnvelope status, CancellationToken cancellationToken)
    {
        if (status.GatewayId != gatewayId || !DeviceIdText.TryParse(status.DeviceId, out _) || status.Health is null ||
            string.IsNullOrEmpty(status.Profile) || !IsValidSite(status.Site))
        {
            Drop(topic, "device-status with bad gatewayId, deviceId, site or health");
            return;
        }

        // The cloud's own district boundaries decide who sees the device, not the gateway's label.
        string district = _districts.Resolve(status.Site.Latitude, status.Site.Longitude);
        await _devices.RecordStatusAsync(status, district, cancellationToken);
        _statistics.DeviceStatusSeen();
    }

    private static string? ValidateTrouble(TroubleEnvelope trouble, string gatewayId)
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

        if (!IsContactIdEvent(trouble.Event) || string.IsNullOrEmpty(trouble.Profile) || !IsValidSite(trouble.Site))
        {
            return "trouble event, profile or site invalid";
        }

        return null;
    }

    private static bool IsContactIdEvent(ContactIdEvent? e) =>
        e is not null && e.Code is >= 0 and <= ContactIdCode.Max && e.Qualifier is >= 0 and <= 9 && e.Zone is >= 0 and <= 999;

    private static bool IsValidSite(SiteInfo? site) =>
        site is not null && site.Kind is not null && site.Address is not null && double.IsFinite(site.Latitude) &&
        double.IsFinite(site.Longitude) && Math.Abs(site.Latitude) <= 90 && Math.Abs(site.Longitude) <= 180;

    private async Task HandleAckRelayedAsync(string topic, AckRelayedEnvelope relayed, CancellationToken cancellationToken)
    {
        if (!AlarmKey.TryParse(relayed.Key, out AlarmKey key) || !AckStageName.TryParse(relayed.Stage, out _))
        {
            Drop(topic, "ack-relayed with bad key or stage");
            return;
        }

        string keyText = key.ToString();
        if (!await _store.MarkAckRelayedAsync(keyText, relayed.Stage, _time.GetUtcNow(), cancellationToken))
        {
            return;
        }

        _statistics.AckRelayed();
        AlarmRecord? alarm = await _store.FindAsync(keyText, cancellationToken);
        if (alarm is not null)
        {
            _feed.Publish(new AlarmFeedEvent(AlarmFeedEvent.Updated, AlarmView.From(alarm, _districts)));
        }
    }

    private async Task PublishAsync(string topic, Envelope envelope, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PublishTimeout);
        try
        {
            await _mqtt.PublishAsync(topic, EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, timeout.Token);
        }
        catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // The gateway re-sends until it hears a receipt; the duplicate will be answered then.
            _statistics.ReceiptFailed();
            LogPublishFailed(_logger, topic, ex.Message);
        }
    }

    private static string? Validate(AlarmEnvelope alarm, string gatewayId, out AlarmKey key)
    {
        if (!AlarmKey.TryParse(alarm.Key, out key))
        {
            return "alarm key is not DEVICEID:COUNTER";
        }

        if (!DeviceIdText.TryParse(alarm.DeviceId, out uint deviceId) || deviceId != key.DeviceId || alarm.Counter != key.Counter)
        {
            return "alarm key does not match deviceId and counter";
        }

        if (alarm.GatewayId != gatewayId)
        {
            return "alarm gatewayId differs from its topic";
        }

        if (!IsContactIdEvent(alarm.Event))
        {
            return "alarm event is not a Contact ID event";
        }

        if (!IsValidSite(alarm.Site))
        {
            return "alarm site has no valid coordinates";
        }

        return null;
    }

    private void Drop(string topic, string reason)
    {
        _statistics.MalformedDropped();
        _malformed.Report(topic, reason);
    }

    /// <summary>Until the broker takes the bridge: each call after a failure waits the session's backoff first.</summary>
    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await _mqtt.ConnectAsync(cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is MqttConnectionRefusedException or MqttConnectTimeoutException)
            {
                LogConnectFailed(_logger, ex.Message);
            }
        }
    }

    private async Task ProcessInboxAsync(CancellationToken cancellationToken)
    {
        await foreach (MqttMessage message in _inbox.Reader.ReadAllAsync(cancellationToken))
        {
            try
            {
                await HandleAsync(message.Topic, message.Payload, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Not acknowledged by a receipt, so the gateway will offer it again.
                LogHandlingFailed(_logger, ex, message.Topic);
            }
        }
    }

    private Task OnMessageAsync(MqttMessage message, CancellationToken cancellationToken)
    {
        _inbox.Writer.TryWrite(message);
        return Task.CompletedTask;
    }

    private void OnStateChanged(object? sender, MqttStateChangedEventArgs e)
    {
        LogMqttState(_logger, e.State, e.Reason);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alarm {Key} (event {Code}) stored for district {District} from gateway {Gateway}")]
    private static partial void LogAlarmStored(ILogger logger, string key, int code, string district, string gateway);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trouble {Key} (event {Code}/{Qualifier}) for device {Device} stored for district {District}")]
    private static partial void LogTroubleStored(ILogger logger, string key, int code, int qualifier, string device, string district);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publish to {Topic} failed: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT connect failed ({Reason}); retrying")]
    private static partial void LogConnectFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling a message on {Topic} failed; the gateway will re-send it")]
    private static partial void LogHandlingFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT {State}: {Reason}")]
    private static partial void LogMqttState(ILogger logger, MqttConnectionState state, string reason);
}
