using Anshimi.Mqtt;
using Microsoft.Extensions.Hosting;

namespace Anshimi.Gateway.Upstream;

/// <summary>
/// Reports to the cloud bridge every interval while the broker link is up. Ticks while it is down are skipped,
/// and a failed report is logged and left to the next tick.
/// </summary>
public abstract class PeriodicUpstreamReporter(MqttSession mqtt, TimeSpan interval, TimeProvider time) : BackgroundService
{
    protected MqttSession Mqtt { get; } = mqtt;

    protected TimeProvider Time { get; } = time;

    protected abstract Task ReportOnceAsync(CancellationToken cancellationToken);

    protected abstract void OnReportFailed(Exception exception);

    /// <summary>Runs on every tick, connected or not, before the report.</summary>
    protected virtual void OnTick()
    {
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                OnTick();
                if (Mqtt.State != MqttConnectionState.Connected)
                {
                    continue;
                }

                try
                {
                    await ReportOnceAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    OnReportFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
