using System.Diagnostics.Metrics;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Health;

/// <summary>
/// Persists health changes and tells the cloud bridge with <see cref="DeviceStatusEnvelope"/>s: the devices that
/// changed every <see cref="GatewayOptions.StatusReportInterval"/>, and every device after a reconnect and every
/// <see cref="GatewayOptions.StatusResyncInterval"/>, so a lost message is repaired by the next full round
/// (device status is "latest wins" and has no receipt).
/// </summary>
public sealed partial class DeviceStatusReporter : BackgroundService
{
    private readonly IMqttClient _mqtt;
    private readonly DeviceRegistry _registry;
    private readonly DeviceHealthTracker _health;
    private readonly HealthStore _store;
    private readonly GatewayOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DeviceStatusReporter> _logger;
    private volatile bool _resyncWanted = true;

    public DeviceStatusReporter(
        IMqttClient mqtt,
        DeviceRegistry registry,
        DeviceHealthTracker health,
        HealthStore store,
        GatewayMetrics metrics,
        IOptions<GatewayOptions> options,
        TimeProvider time,
        ILogger<DeviceStatusReporter> logger)
    {
        _mqtt = mqtt;
        _registry = registry;
        _health = health;
        _store = store;
        _options = options.Value;
        _time = time;
        _logger = logger;
        metrics.Meter.CreateObservableGauge("anshimi.gateway.devices.health", ObserveHealth, description: "Devices with each health condition.");
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
        IReadOnlyList<uint> changed = _health.TakeChanged();
        IReadOnlyList<uint> due = resync ? [.. _registry.Snapshot().Select(d => d.Id).Union(changed)] : changed;
        if (due.Count == 0)
        {
            return 0;
        }

        DateTimeOffset now = _time.GetUtcNow();
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

            try
            {
                await _mqtt.PublishAsync(Topics.GatewayEvents(_options.Id), EnvelopeSerializer.Serialize(ToEnvelope(device, now)), MqttQos.AtLeastOnce, retain: false, cancellationToken);
            }
            catch (MqttException ex)
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

    public DeviceStatusEnvelope ToEnvelope(DeviceEntry device, DateTimeOffset at) =>
        new(_options.Id, DeviceIdText.Format(device.Id), device.Profile, device.Site, device.DistrictCode, _health.Of(device.Id), device.LastSeen, at);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.StatusReportInterval, _time);
        DateTimeOffset nextResync = _time.GetUtcNow() + _options.StatusResyncInterval;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (_time.GetUtcNow() >= nextResync)
                {
                    _resyncWanted = true;
                    nextResync = _time.GetUtcNow() + _options.StatusResyncInterval;
                }

                if (_mqtt.State != MqttConnectionState.Connected)
                {
                    continue;
                }

                try
                {
                    await ReportAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogReportFailed(_logger, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device status not reported yet: {Error}")]
    private static partial void LogReportFailed(ILogger logger, string error);
}
