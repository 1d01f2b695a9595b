using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Firmware;

/// <summary>Checks the running rollouts every <c>Firmware:Interval</c>, and soon after each device report (<see cref="Nudge"/>).</summary>
public sealed partial class RolloutService(FirmwareRollouts rollouts, IOptions<FirmwareOptions> options, TimeProvider time, ILogger<RolloutService> logger)
    : BackgroundService
{
    private readonly SemaphoreSlim _nudged = new(0, 1);

    /// <summary>A device's state changed: check soon rather than at the next interval.</summary>
    public void Nudge()
    {
        if (_nudged.CurrentCount == 0)
        {
            try
            {
                _nudged.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already nudged.
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await rollouts.TickAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A store outage must not end the rollouts' checking; the next pass tries again.
                LogTickFailed(logger, ex);
            }

            try
            {
                using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                Task interval = Task.Delay(options.Value.Interval, time, wake.Token);
                await Task.WhenAny(interval, _nudged.WaitAsync(wake.Token));
                await wake.CancelAsync();
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Checking the firmware rollouts failed")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}
