using Anshimi.Gateway.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Pipeline;

/// <summary>Writes batched device heartbeats (last seen) to the registry on a timer and at shutdown.</summary>
public sealed partial class DeviceActivityFlusher(
    DeviceRegistry registry,
    IOptions<GatewayOptions> options,
    TimeProvider time,
    ILogger<DeviceActivityFlusher> logger) : BackgroundService
{
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ActivityFlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down; StopAsync flushes the rest.
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            await registry.FlushActivityAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFlushFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device activity could not be written; retrying on the next tick")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}
