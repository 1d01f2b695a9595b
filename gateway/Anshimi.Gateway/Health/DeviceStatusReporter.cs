using System.Diagnostics.Metrics;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Health;

/// <summary>
/// Persists health changes and tells the cloud bridge with <see cref="DeviceStatusEnvelope"/>s: the devices that
/// changed every <see cref="GatewayOptions.StatusReportInterval"/>, and every device after a reconnect and every
/// <see cref="GatewayOptions.StatusResyncInterval"/>, so a lost message is repaired by the next full round
/// (device status is "latest wins" and has no receipt). Before a device's status, and whenever its site, profile or
/// key change, it sends the device's <see cref="DeviceBoundEnvelope"/>: the cloud accepts a gateway's word only about
/// devices bound to it, and verifies their alarm frames with that key.
/// </summary>
public sealed partial class DeviceStatusReporter : PeriodicUpstreamReporter
{
    private readonly DeviceRegistry _registry;
    private readonly DeviceHealthTracker _health;
    private readonly HealthStore _store;
    private readonly GatewayOptions _options;
    private readonly ILogger<DeviceStatusReporter> _logger;
    private readonly Dictionary<uint, Announcement> _announced = [];
    private volatile bool _resyncWanted = true;
    private DateTimeOffset _nextResync;

    public DeviceStatusReporter(
        [FromKeyedServices(CloudLink.SessionKey)] MqttSession mqtt,
        DeviceRegistry registry,
        DeviceHealthTracker health,
        HealthStore store,
        GatewayMetrics metrics,
        IOptions<GatewayOptions> options,
        TimeProvider time,
        ILogger<DeviceStatusReporter> logger)
        : base(mqtt, options.Value.StatusReportInterval, time)
    {
        _registry = registry;
        _health = health;
        _store = store;
        _options = options.Value;
        _logger = logger;
        metrics.Meter.CreateObservableGauge("anshimi.gateway.devices.health", ObserveHealth, "{device}", "Devices with each health condition.");
        mqtt.StateChanged += (_, e) => _resyncWanted |= e.State == MqttConnectionState.Connected;
    }

    /// <summary>
    /// Saves and reports the devices that changed (all devices when a resync is due). Returns how many were
    /// reported; on a refused publish the rest stay marked for the next round.
    /// </summary>
    public async Task<int> ReportAsync(CancellationToken cancellationToken)
    {
        bool resync = _resyncWanted;
        _resyncWanted = false;
        if (!await AnnounceBindingsAsync(resync, cancellationToken))
        {
            _resyncWanted |= resync;
            return 0;
        }

        IReadOnlyList<uint> changed = _health.TakeChanged();
        IReadOnlyList<uint> due = resync ? [.. _registry.Snapshot().Select(d => d.Id).Union(changed)] : changed;
        if (due.Count == 0)
        {
            return 0;
        }

        DateTimeOffset now = Time.GetUtcNow();
        try
        {
            if (changed.Count > 0)
            {
                await _store.SaveAsync([.. changed.Select(id => KeyValuePair.Create(id, _health.Of(id)))], now, cancellationToken);
            }
        }
        catch
        {
            _health.MarkChanged(changed);
            _resyncWanted |= resync;
            throw;
        }

        int reported = 0;
        foreach (uint id in due)
        {
            if (!_registry.TryGet(id, out DeviceEntry device))
            {
                continue;
            }

            // The cloud takes a device's status only once it holds the device as this gateway's.
            if (!IsBindingConfirmed(id))
            {
                _health.MarkChanged([id]);
                continue;
            }

            try
            {
                await Mqtt.PublishAsync(Topics.GatewayEvents(_options.Id), EnvelopeSerializer.Serialize(ToEnvelope(device, now)), MqttQos.AtLeastOnce, retain: false, cancellationToken);
            }
            catch (MqttTransportException ex)
            {
                LogReportFailed(_logger, ex.Message);
                _health.MarkChanged(due.Skip(reported));
                _resyncWanted |= resync;
                break;
            }

            reported++;
        }

        return reported;
    }

    /// <summary>The cloud holds the device as announced (its <c>device-bound-receipt</c>); ids it never announced are ignored.</summary>
    public void ConfirmBinding(string deviceId)
    {
        if (DeviceIdText.TryParse(deviceId, out uint id))
        {
            lock (_announced)
            {
                if (_announced.TryGetValue(id, out Announcement? announced))
                {
                    _announced[id] = announced with { Confirmed = true };
                }
            }
        }
    }

    /// <summary>True once the cloud confirmed the device's current binding: until then its status would be refused.</summary>
    public bool IsBindingConfirmed(uint deviceId)
    {
        lock (_announced)
        {
            return _registry.TryGet(deviceId, out DeviceEntry device) && _announced.TryGetValue(deviceId, out Announcement? announced) &&
                announced.Confirmed && ReferenceEquals(announced.Entry, device);
        }
    }

    /// <summary>
    /// Sends <c>device-bound</c> for every bound device whose current entry the cloud has not confirmed (all of them on a
    /// resync), at most once per <see cref="GatewayOptions.OutboxRetryInterval"/> per device until the receipt. The
    /// registry replaces a device's entry when its site, profile or key change, so a new entry means news.
    /// </summary>
    private async Task<bool> AnnounceBindingsAsync(bool resync, CancellationToken cancellationToken)
    {
        DateTimeOffset now = Time.GetUtcNow();
        var due = new List<DeviceEntry>();
        lock (_announced)
        {
            if (resync)
            {
                _announced.Clear();
            }

            foreach (DeviceEntry device in _registry.Snapshot())
            {
                if (device.Site.Kind != DeviceState.UnboundSite &&
                    !(_announced.TryGetValue(device.Id, out Announcement? announced) && ReferenceEquals(announced.Entry, device) &&
                      (announced.Confirmed || now - announced.SentAt < _options.OutboxRetryInterval)))
                {
                    due.Add(device);
                }
            }
        }

        foreach (DeviceEntry device in due)
        {
            var bound = new DeviceBoundEnvelope(_options.Id, DeviceIdText.Format(device.Id), device.Profile, device.Site, Convert.ToHexString(device.Key));
            try
            {
                await Mqtt.PublishAsync(Topics.GatewayEvents(_options.Id), EnvelopeSerializer.Serialize(bound), MqttQos.AtLeastOnce, retain: false, cancellationToken);
            }
            catch (MqttTransportException ex)
            {
                LogReportFailed(_logger, ex.Message);
                return false;
            }

            lock (_announced)
            {
                _announced[device.Id] = new Announcement(device, now, Confirmed: false);
            }
        }

        return true;
    }

    public DeviceStatusEnvelope ToEnvelope(DeviceEntry device, DateTimeOffset at) =>
        new(_options.Id, DeviceIdText.Format(device.Id), device.Profile, device.Site, device.DistrictCode, _health.Of(device.Id), device.LastSeen, at);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _nextResync = Time.GetUtcNow() + _options.StatusResyncInterval;
        return base.ExecuteAsync(stoppingToken);
    }

    protected override void OnTick()
    {
        if (Time.GetUtcNow() >= _nextResync)
        {
            _resyncWanted = true;
            _nextResync = Time.GetUtcNow() + _options.StatusResyncInterval;
        }
    }

    protected override Task ReportOnceAsync(CancellationToken cancellationToken) => ReportAsync(cancellationToken);

    protected override void OnReportFailed(Exception exception) => LogReportFailed(_logger, exception.Message);

    private IEnumerable<Measurement<long>> ObserveHealth()
    {
        HealthCounts counts = _health.Count();
        yield return Condition(counts.Silent, "silent");
        yield return Condition(counts.LowBattery, "low_battery");
        yield return Condition(counts.Tamper, "tamper");
        yield return Condition(counts.MainsLost, "mains_lost");
        yield return Condition(counts.LampFault, "lamp_fault");
    }

    private static Measurement<long> Condition(int count, string condition) =>
        new(count, new KeyValuePair<string, object?>("condition", condition));

    private sealed record Announcement(DeviceEntry Entry, DateTimeOffset SentAt, bool Confirmed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device status not reported yet: {Error}")]
    private static partial void LogReportFailed(ILogger logger, string error);
}
