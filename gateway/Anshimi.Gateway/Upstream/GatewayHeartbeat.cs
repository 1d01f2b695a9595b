using Anshimi.Gateway.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Upstream;

/// <summary>Tells the cloud bridge the gateway is alive, so "gateway down" is not mistaken for "devices silent".</summary>
public sealed partial class GatewayHeartbeat(
    [FromKeyedServices(CloudLink.SessionKey)] MqttSession mqtt,
    AlarmStore store,
    IOptions<GatewayOptions> options,
    TimeProvider time,
    ILogger<GatewayHeartbeat> logger) : PeriodicUpstreamReporter(mqtt, options.Value.HeartbeatInterval, time)
{
    public async Task SendAsync(CancellationToken cancellationToken)
    {
        int depth = await store.CountOutboxAsync(cancellationToken);
        var envelope = new GatewayHeartbeatEnvelope(options.Value.Id, Time.GetUtcNow(), depth);
        await Mqtt.PublishAsync(Topics.GatewayEvents(options.Value.Id), EnvelopeSerializer.Serialize(envelope), MqttQos.AtLeastOnce, retain: false, cancellationToken);
    }

    protected override Task ReportOnceAsync(CancellationToken cancellationToken) => SendAsync(cancellationToken);

    protected override void OnReportFailed(Exception exception) => LogHeartbeatFailed(logger, exception.Message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Gateway heartbeat not sent: {Error}")]
    private static partial void LogHeartbeatFailed(ILogger logger, string error);
}
