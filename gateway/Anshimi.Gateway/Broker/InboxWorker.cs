using Anshimi.Gateway.Upstream;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Snapshots;
using Anshimi.Mqtt;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Broker;

/// <summary>
/// The single consumer of the inbox. One consumer keeps every registry and downlink-counter change
/// in order without locks; cloud commands go first so an operator's ack is not stuck behind a burst
/// of uplinks, and uplinks come round-robin per device, so one device's burst delays no other device's alarm.
/// </summary>
public sealed partial class InboxWorker(
    GatewayInbox inbox,
    AlarmPipeline pipeline,
    CloudCommands commands,
    SnapshotAssembler snapshots,
    ILogger<InboxWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (inbox.Commands.Reader.TryRead(out MqttMessage? command))
                {
                    await HandleCommandAsync(command, stoppingToken);
                }
                else if (inbox.Uplinks.TryDequeue(out MqttMessage uplink))
                {
                    await (SnapshotAssembler.IsChunk(uplink.Payload)
                        ? snapshots.HandleChunkAsync(uplink.Topic, uplink.Payload, stoppingToken)
                        : pipeline.HandleUplinkAsync(uplink.Topic, uplink.Payload, stoppingToken));
                }
                else
                {
                    await inbox.WaitAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down; unprocessed uplinks were never acked, so devices resend them.
        }
    }

    private async Task HandleCommandAsync(MqttMessage command, CancellationToken cancellationToken)
    {
        try
        {
            await commands.HandleAsync(command.Payload, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCommandFailed(logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Cloud command could not be applied")]
    private static partial void LogCommandFailed(ILogger logger, Exception exception);
}
