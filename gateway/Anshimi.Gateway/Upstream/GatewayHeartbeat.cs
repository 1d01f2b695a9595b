using Anshimi.Gateway.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Upstream;

/// <summary>Tells the cloud bridge the gateway is alive, so "gateway down" is not mistaken for "devices silent".</summary>
public sealed partial class GatewayHeartbeat(
    IMqttClient mqtt,
    AlarmStore store,
    IOptions<GatewayOptions> options,
    TimeProvider time,
    ILogger<GatewayHeartbeat> logger) : BackgroundService
{
    public async Task SendAsync(CancellationToken cancellationToken)
    {
        int depth = await store.CountOutboxAsync(cancellationToken);
        var envelope = new GatewayHeartbeatEnvelope(options.Value.Id, time.GetUtcNow(), depth);
        await mqtt.PublishAsync(Topics.GatewayEvents(options.Value.Id), EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.HeartbeatInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (mqtt.State != MqttConnectionState.Connected)
                {
                    continue;
                }

                try
                {
                    await SendAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogHeartbeatFailed(logger, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway heartbeat not sent: {Error}")]
    private static partial void LogHeartbeatFailed(ILogger logger, string error);
}
