using System.Threading.Channels;
using Anshimi.Gateway.Diagnostics;
using Anshimi.Gateway.Pipeline;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Broker;

/// <summary>
/// Hand-off from the MQTT network thread to the gateway's consumer. Device uplinks are bounded
/// (devices resend what is dropped); cloud commands are few and never dropped.
/// </summary>
public sealed class GatewayInbox
{
    private readonly string _commandsTopic;
    private readonly GatewayMetrics _metrics;

    // One doorbell for both queues: the consumer waits on a single thing and then drains by priority.
    private readonly Channel<bool> _doorbell = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });

    public GatewayInbox(IOptions<GatewayOptions> options, GatewayMetrics metrics)
    {
        _commandsTopic = Topics.GatewayCommands(options.Value.Id);
        _metrics = metrics;
        Uplinks = Channel.CreateBounded<MqttMessage>(new BoundedChannelOptions(options.Value.UplinkQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        Commands = Channel.CreateUnbounded<MqttMessage>(new UnboundedChannelOptions { SingleReader = true });
    }

    public Channel<MqttMessage> Uplinks { get; }

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
        else if (!Uplinks.Writer.TryWrite(message))
        {
            _metrics.FrameRejected(AlarmPipeline.QueueFull);
            return;
        }

        _doorbell.Writer.TryWrite(true);
    }

    /// <summary>Waits until something was posted since the last wait (may return with both queues already drained).</summary>
    public async Task WaitAsync(CancellationToken cancellationToken) => await _doorbell.Reader.ReadAsync(cancellationToken);
}
