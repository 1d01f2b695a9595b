using System.Threading.Channels;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Pipeline;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Broker;

/// <summary>
/// Hand-off from the MQTT network thread to the gateway's consumer. Device uplinks wait in a
/// <see cref="FairUplinkQueue{T}"/> keyed by the device account of the topic (the broker lets a device
/// publish only on its own), bounded per device and in total (devices resend what is dropped); cloud
/// commands are few and never dropped.
/// </summary>
public sealed class GatewayInbox
{
    private readonly string _commandsTopic;
    private readonly GatewayMetrics _metrics;
    private readonly RejectLog _rejectLog;

    // One doorbell for both queues: the consumer waits on a single thing and then drains by priority.
    private readonly Channel<bool> _doorbell = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    public GatewayInbox(IOptions<GatewayOptions> options, GatewayMetrics metrics, RejectLog rejectLog)
    {
        _commandsTopic = Topics.GatewayCommands(options.Value.Id);
        _metrics = metrics;
        _rejectLog = rejectLog;
        Uplinks = new FairUplinkQueue<MqttMessage>(options.Value.UplinkQueueCapacity, options.Value.UplinkDeviceBudget);
        Commands = Channel.CreateUnbounded<MqttMessage>(new UnboundedChannelOptions { SingleReader = true });
    }

    public FairUplinkQueue<MqttMessage> Uplinks { get; }

    public Channel<MqttMessage> Commands { get; }

    /// <summary>Routes one received message; never blocks (called on the network thread).</summary>
    public void Post(MqttMessage message)
    {
        if (Topics.IsProvisioning(message.Topic))
        {
            // Unclaimed devices' hellos belong to provisioning, which listens on the same session.
            return;
        }

        if (message.Topic == _commandsTopic)
        {
            Commands.Writer.TryWrite(message);
        }
        else
        {
            // Topics that name no device share lane 0 (no device has that id); the pipeline rejects them.
            Topics.TryGetDeviceId(message.Topic, out uint device);
            string? dropped = Uplinks.TryEnqueue(device, message, out MqttMessage? displaced);
            if (displaced is not null)
            {
                Drop(AlarmPipeline.QueueFull, displaced.Topic);
            }

            if (dropped is not null)
            {
                Drop(dropped, message.Topic);
                return;
            }
        }

        _doorbell.Writer.TryWrite(true);
    }

    private void Drop(string reason, string topic)
    {
        _metrics.FrameRejected(reason);
        _rejectLog.Report(reason, "uplink on " + topic + " dropped before processing");
    }

    /// <summary>Waits until something was posted since the last wait (may return with both queues already drained).</summary>
    public async Task WaitAsync(CancellationToken cancellationToken) => await _doorbell.Reader.ReadAsync(cancellationToken);
}
