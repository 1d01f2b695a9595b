using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Health;
using Anshimi.Gateway.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Supervision;

/// <summary>Starts supervising the registered devices and checks their deadlines every <see cref="SupervisionOptions.CheckInterval"/>.</summary>
public sealed class SupervisionMonitor(
    SupervisionTracker tracker,
    DeviceRegistry registry,
    DeviceHealthTracker health,
    GatewayMetrics metrics,
    IOptions<SupervisionOptions> options,
    TimeProvider time) : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // The registry is loaded by now: GatewayStartup is registered, and so started, first.
        tracker.Track(registry.Snapshot(), health.IsSilent);
        metrics.ObserveGauge("anshimi.gateway.devices.silent", "{device}", "Devices silent past their supervision interval and not yet heard again.", () => tracker.SilentCount);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                tracker.Check();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
