using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Storage;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Pipeline;

/// <summary>Signs and publishes ack frames to a device's downlink topic.</summary>
public sealed partial class DeviceDownlink(MqttSession mqtt, GatewayMetrics metrics, ILogger<DeviceDownlink> logger)
{
    private readonly FrameCodec _codec = new(new PlatformHmacSha256());
    private readonly Lock _codecLock = new();

    /// <summary>
    /// Publishes Ack(<paramref name="stage"/>) for <paramref name="alarmCounter"/> at QoS 1. Returns false
    /// (and logs) when the broker cannot take it: the state is already stored, so the device's resend or
    /// the next relay repairs it.
    /// </summary>
    public async Task<bool> SendAckAsync(DeviceEntry device, uint downlinkCounter, uint alarmCounter, AckStage stage, CancellationToken cancellationToken)
    {
        byte[] frame;
        lock (_codecLock)
        {
            frame = _codec.Encode(Frame.Ack(device.Id, downlinkCounter, alarmCounter, stage), device.Key);
        }

        try
        {
            await mqtt.PublishAsync(Topics.DeviceDownlink(device.Id), frame, MqttQos.AtLeastOnce, retain: false, cancellationToken);
        }
        catch (MqttTransportException ex)
        {
            LogAckFailed(logger, DeviceIdText.Format(device.Id), alarmCounter, ex.Message);
            return false;
        }

        metrics.AckSent(StageLabel.Of(stage));
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ack to {DeviceId} for alarm counter {Counter} not published: {Error}")]
    private static partial void LogAckFailed(ILogger logger, string deviceId, uint counter, string error);
}

/// <summary>Metric and log names of ack stages.</summary>
public static class StageLabel
{
    public static string Of(AckStage stage) => stage switch
    {
        AckStage.Received => "received",
        AckStage.OperatorAcknowledged => AckStageName.Acknowledged,
        AckStage.Resolved => AckStageName.Resolved,
        AckStage.SnapshotStored => "snapshot-stored",
        _ => "unknown",
    };
}
