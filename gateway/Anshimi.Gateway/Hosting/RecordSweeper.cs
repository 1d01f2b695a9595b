using Microsoft.Extensions.Hosting;

namespace Anshimi.Gateway.Hosting;

/// <summary>A sweep over stored records every interval; a failed sweep is reported and the next one runs as usual.</summary>
public abstract class RecordSweeper(TimeSpan interval, TimeProvider time) : BackgroundService
{
    protected TimeProvider Time { get; } = time;

    protected abstract Task SweepOnceAsync(CancellationToken cancellationToken);

    protected abstract void OnSweepFailed(Exception exception);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval, Time, stoppingToken);
                await SweepOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                OnSweepFailed(ex);
            }
        }
    }
}
