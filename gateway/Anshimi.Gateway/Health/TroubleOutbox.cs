using System.Threading.Channels;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Outbox;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Health;

/// <summary>
/// Sends the troubles the gateway itself detects (350 communication trouble and its restore) upstream as
/// <see cref="TroubleEnvelope"/>s until the cloud's receipt. Supervision raises them under its lock, so they
/// are queued in memory first and written to SQLite by this worker; a trouble lost to a crash before that
/// write is found again, because the device is still silent (or, for a restore, still marked silent) after
/// the restart. The gateway's own troubles (its UPS: 301, 302, 308, 330) travel the same way under device id
/// <see cref="GatewayDeviceId"/>, profile <c>gateway</c> and the box's own site (<see cref="GatewayOptions.Site"/>).
/// </summary>
public sealed partial class TroubleOutbox : OutboxWorker<TroubleRow>
{
    /// <summary>Device id of troubles about the gateway box itself; no device is ever given it.</summary>
    public const uint GatewayDeviceId = 0;

    public const string GatewayProfile = "gateway";

    private readonly SemaphoreSlim _storing = new(1, 1);
    private readonly SiteInfo? _site;
    private readonly Channel<PendingTrouble> _pending = Channel.CreateUnbounded<PendingTrouble>(new UnboundedChannelOptions { SingleReader = true });
    private readonly HealthStore _store;
    private readonly DeviceHealthTracker _health;
    private readonly OutboxSignal _signal;
    private readonly GatewayMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<TroubleOutbox> _logger;
    private volatile bool _reconnected;

    public TroubleOutbox(
        [FromKeyedServices(CloudLink.SessionKey)] MqttSession mqtt,
        HealthStore store,
        DeviceHealthTracker health,
        RedeliveryPolicy retryPolicy,
        IOptions<GatewayOptions> options,
        GatewayMetrics metrics,
        TimeProvider time,
        ILogger<TroubleOutbox> logger)
        : this(mqtt, store, health, new OutboxSignal(), retryPolicy, options, metrics, time, logger)
    {
    }

    private TroubleOutbox(
        MqttSession mqtt,
        HealthStore store,
        DeviceHealthTracker health,
        OutboxSignal signal,
        RedeliveryPolicy retryPolicy,
        IOptions<GatewayOptions> options,
        GatewayMetrics metrics,
        TimeProvider time,
        ILogger<TroubleOutbox> logger)
        : base(mqtt, signal, retryPolicy, options.Value.Id, time, logger)
    {
        _site = options.Value.Site is { } site ? new SiteInfo(GatewayProfile, site.Latitude, site.Longitude, site.Address) : null;
        _store = store;
        _health = health;
        _signal = signal;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        metrics.ObserveGauge("anshimi.gateway.troubles.pending", "{trouble}", "Gateway-raised troubles not yet receipted by the cloud.", () => store.CountPending());

        // Whatever was in flight when the link dropped may be gone: resend it now, not after backoff.
        mqtt.StateChanged += (_, e) =>
        {
            if (e.State == MqttConnectionState.Connected)
            {
                _reconnected = true;
                _signal.Notify();
            }
        };
    }

    /// <summary>Queues a trouble; quick and lock-free, safe to call under the supervision lock.</summary>
    public void Enqueue(uint deviceId, ushort code, byte qualifier)
    {
        _pending.Writer.TryWrite(new PendingTrouble(deviceId, code, qualifier, _time.GetUtcNow()));
        _signal.Notify();
    }

    /// <summary>Applies a cloud receipt naming a trouble key; false when it names none of ours.</summary>
    public async Task<bool> ApplyReceiptAsync(string key, CancellationToken cancellationToken) =>
        TroubleKey.TryParse(key, GatewayId, out long sequence) && await _store.RecordReceiptAsync(sequence, _time.GetUtcNow(), cancellationToken);

    public override Envelope ToEnvelope(TroubleRow row) => new TroubleEnvelope(
        Key: row.Key,
        GatewayId: GatewayId,
        DeviceId: DeviceIdText.Format(row.DeviceId),
        Event: new ContactIdEvent(row.Code, row.Qualifier, 0),
        Profile: row.DeviceId == GatewayDeviceId ? GatewayProfile : row.Profile,
        Site: row.DeviceId == GatewayDeviceId && _site is not null ? _site : row.Site,
        DetectedAt: row.DetectedAt);

    /// <summary>Writes the troubles queued in memory to SQLite (also before a power-off, so none is lost).</summary>
    public async Task StoreQueuedAsync(CancellationToken cancellationToken)
    {
        await _storing.WaitAsync(cancellationToken);
        try
        {
            while (_pending.Reader.TryPeek(out PendingTrouble trouble))
            {
                // Peek first: a failed write leaves the trouble queued for the next round.
                IReadOnlyList<string> dropped = await _store.RecordTroubleAsync(trouble.DeviceId, trouble.Code, trouble.Qualifier, _health.Of(trouble.DeviceId), trouble.At, cancellationToken);
                _pending.Reader.TryRead(out _);
                LogQueued(_logger, DeviceIdText.Format(trouble.DeviceId), trouble.Code, trouble.Qualifier);
                foreach (string reason in dropped)
                {
                    _metrics.TroubleDropped(reason);
                    LogDropped(_logger, reason);
                }
            }
        }
        finally
        {
            _storing.Release();
        }
    }

    protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        await StoreQueuedAsync(cancellationToken);
        if (_reconnected)
        {
            _reconnected = false;
            await _store.MakeAllDueAsync(_time.GetUtcNow(), cancellationToken);
        }
    }

    protected override Task<IReadOnlyList<TroubleRow>> GetDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        _store.GetDueAsync(GatewayId, now, limit, cancellationToken);

    protected override Task RecordAttemptAsync(long sequence, int attempts, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken) =>
        _store.RecordAttemptAsync(sequence, attempts, nextAttemptAt, cancellationToken);

    protected override Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken) => _store.GetNextDueAsync(cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unsent trouble dropped at the outbox bound ({Reason}); alarms are kept")]
    private static partial void LogDropped(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trouble {Code:000} qualifier {Qualifier} for device {Device} stored for upstream")]
    private static partial void LogQueued(ILogger logger, string device, int code, int qualifier);

    private readonly record struct PendingTrouble(uint DeviceId, ushort Code, byte Qualifier, DateTimeOffset At);
}
