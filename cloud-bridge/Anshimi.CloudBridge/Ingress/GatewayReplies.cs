using Anshimi.CloudBridge.Hosting;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Ingress;

/// <summary>
/// Answers a gateway on its commands topic (receipts). A reply is handed to the broker connection and the ingress goes
/// on at once: its PUBACK is awaited in the background, and a reply the broker does not take in time is counted, not
/// thrown. The gateway re-sends whatever it has no receipt for, and the store answers the copy by its key.
/// </summary>
public sealed partial class GatewayReplies(MqttSession mqtt, RelayStatistics statistics, IOptions<CloudBridgeOptions> options, ILogger<GatewayReplies> logger)
{
    /// <summary>Publishes <paramref name="envelope"/> (QoS 1) after everything sent before it; returns without waiting for its PUBACK.</summary>
    public void Send(string gatewayId, Envelope envelope)
    {
        string topic = Topics.GatewayCommands(gatewayId);
        var timeout = new CancellationTokenSource(options.Value.PublishTimeout);
        Task<MqttTransportException?> answered = mqtt.StartPublish(topic, EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, timeout.Token);
        _ = CountFailureAsync(answered, topic, timeout);
    }

    private async Task CountFailureAsync(Task<MqttTransportException?> answered, string topic, CancellationTokenSource timeout)
    {
        using (timeout)
        {
            if (await answered.ConfigureAwait(false) is { } failure)
            {
                statistics.ReceiptFailed();
                LogPublishFailed(logger, topic, failure.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publish to {Topic} failed: {Reason}; the gateway re-sends and is answered then")]
    private static partial void LogPublishFailed(ILogger logger, string topic, string reason);
}
