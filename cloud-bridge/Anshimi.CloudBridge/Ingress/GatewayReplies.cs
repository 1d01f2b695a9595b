using Anshimi.CloudBridge.Hosting;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Ingress;

/// <summary>Answers a gateway on its commands topic (receipts); a reply the broker does not take in time is counted, not thrown.</summary>
public sealed partial class GatewayReplies(MqttSession mqtt, RelayStatistics statistics, IOptions<CloudBridgeOptions> options, ILogger<GatewayReplies> logger)
{
    public async Task SendAsync(string gatewayId, Envelope envelope, CancellationToken cancellationToken)
    {
        string topic = Topics.GatewayCommands(gatewayId);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.PublishTimeout);
        try
        {
            await mqtt.PublishAsync(topic, EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, timeout.Token);
        }
        catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // The gateway re-sends until it hears a receipt; the duplicate will be answered then.
            statistics.ReceiptFailed();
            LogPublishFailed(logger, topic, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publish to {Topic} failed: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, string topic, string reason);
}
