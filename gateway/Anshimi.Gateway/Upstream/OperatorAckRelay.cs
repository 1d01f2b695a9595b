using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Upstream;

/// <summary>
/// Carries an operator's acknowledgement back to the bell: records the stage, publishes a signed Ack
/// with a fresh downlink counter (so a repeated relay is still accepted by the device) and reports
/// the relay upstream.
/// </summary>
public sealed partial class OperatorAckRelay(
    DeviceRegistry registry,
    AlarmStore store,
    DeviceDownlink downlink,
    [FromKeyedServices(CloudLink.SessionKey)] MqttSession mqtt,
    IOptions<GatewayOptions> options,
    GatewayMetrics metrics,
    RejectLog rejectLog,
    ILogger<OperatorAckRelay> logger)
{
    public const string BadKey = "bad_key";
    public const string BadStage = "bad_stage";
    public const string UnknownAlarm = "unknown_alarm";

    /// <summary>
    /// Relays one operator acknowledgement; returns false when it was ignored. The ack goes to the device through the
    /// downlink, which keeps it until the box broker takes it; only then is the relay reported upstream.
    /// </summary>
    public async Task<bool> RelayAsync(OperatorAckEnvelope envelope, CancellationToken cancellationToken)
    {
        if (!AlarmKey.TryParse(envelope.Key, out AlarmKey key))
        {
            return Ignore(BadKey, envelope.Key);
        }

        if (!AckStageName.TryParse(envelope.Stage, out AckStage stage))
        {
            return Ignore(BadStage, envelope.Stage);
        }

        if (!registry.TryGet(key.DeviceId, out DeviceEntry device))
        {
            return Ignore(UnknownAlarm, key.ToString());
        }

        uint? downlinkCounter = await store.RecordStageAsync(key, stage, cancellationToken);
        if (downlinkCounter is null)
        {
            return Ignore(UnknownAlarm, key.ToString());
        }

        string stageName = AckStageName.Of(stage);
        downlink.Send(device, downlinkCounter.Value, key.Counter, stage, ct => ReportRelayedAsync(key, stageName, ct));
        return true;
    }

    private async Task ReportRelayedAsync(AlarmKey key, string stageName, CancellationToken cancellationToken)
    {
        metrics.AckRelayed(stageName);
        LogRelayed(logger, key.ToString(), stageName);
        try
        {
            await mqtt.PublishAsync(
                Topics.GatewayEvents(options.Value.Id),
                EnvelopeSerializer.Serialize(new AckRelayedEnvelope(key.ToString(), stageName)),
                MqttQos.AtLeastOnce,
                retain: false,
                cancellationToken);
        }
        catch (MqttTransportException ex)
        {
            // The device has its ack; only the console's confirmation is late.
            LogUpstreamFailed(logger, key.ToString(), ex.Message);
        }
    }

    private bool Ignore(string reason, string detail)
    {
        metrics.CommandRejected(reason);
        rejectLog.Report(reason, "operator ack " + detail);
        return false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Operator {Stage} relayed to the device for alarm {Key}")]
    private static partial void LogRelayed(ILogger logger, string key, string stage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ack relay of {Key} not reported upstream: {Error}")]
    private static partial void LogUpstreamFailed(ILogger logger, string key, string error);
}
