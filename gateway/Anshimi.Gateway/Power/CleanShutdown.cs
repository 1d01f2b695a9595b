using Anshimi.Gateway.Health;
using Anshimi.Gateway.Storage;
using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Power;

/// <summary>
/// Puts everything the gateway holds in memory into <c>gateway.db</c> — batched device activity, queued troubles —
/// gives the trouble outbox a short chance to reach the cloud, checkpoints the WAL and closes the pooled
/// connections, then powers off. Each step that fails is logged and the next one still runs: the battery will not wait.
/// </summary>
public sealed partial class CleanShutdown(
    DeviceRegistry registry,
    TroubleOutbox troubles,
    GatewayDatabase database,
    IPowerOff powerOff,
    ILogger<CleanShutdown> logger)
{
    private static readonly TimeSpan UpstreamGrace = TimeSpan.FromSeconds(5);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await StepAsync("device activity", ct => registry.FlushActivityAsync(ct), cancellationToken);
        await StepAsync("queued troubles", troubles.StoreQueuedAsync, cancellationToken);
        await StepAsync("trouble upstream", async ct =>
        {
            using var grace = CancellationTokenSource.CreateLinkedTokenSource(ct);
            grace.CancelAfter(UpstreamGrace);
            try
            {
                await troubles.PublishDueAsync(grace.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // The broker did not answer in time; the troubles stay stored for after the restart.
            }
        }, cancellationToken);

        await StepAsync("database checkpoint", database.CheckpointAsync, cancellationToken);
        LogFlushed(logger);
        await powerOff.PowerOffAsync(cancellationToken);
    }

    private async Task StepAsync(string step, Func<CancellationToken, Task> action, CancellationToken cancellationToken)
    {
        try
        {
            await action(cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogStepFailed(logger, step, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown: flushing {Step} failed: {Error}")]
    private static partial void LogStepFailed(ILogger logger, string step, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown: stores flushed and checkpointed")]
    private static partial void LogFlushed(ILogger logger);
}
