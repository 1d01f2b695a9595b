using System.Threading.Channels;
using Anshimi.CloudBridge.Hosting;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Escorts;

/// <summary>
/// Sends light commands to <c>anshimi/v1/gw/{gw}/commands</c> (QoS 1) in the order the planner decided them.
/// A command that cannot be published is retried until its <c>expiresAt</c>, after which the gateway would
/// ignore it anyway; escort lights then fall back to their schedule when their hold runs out.
/// </summary>
public sealed partial class MqttLightCommandPublisher : BackgroundService, ILightCommandPublisher
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);

    private readonly Channel<(string Gateway, LightCommandEnvelope Command)> _queue =
        Channel.CreateUnbounded<(string, LightCommandEnvelope)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly MqttSession _mqtt;
    private readonly CloudBridgeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<MqttLightCommandPublisher> _logger;
    private long _sent;
    private long _expiredUnsent;

    public MqttLightCommandPublisher(MqttSession mqtt, IOptions<CloudBridgeOptions> options, TimeProvider time, ILogger<MqttLightCommandPublisher> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _mqtt = mqtt;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public long Sent => Interlocked.Read(ref _sent);

    public long ExpiredUnsent => Interlocked.Read(ref _expiredUnsent);

    public void Publish(string gatewayId, LightCommandEnvelope command) => _queue.Writer.TryWrite((gatewayId, command));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach ((string gateway, LightCommandEnvelope command) in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            await SendAsync(gateway, command, stoppingToken);
        }
    }

    private async Task SendAsync(string gateway, LightCommandEnvelope command, CancellationToken cancellationToken)
    {
        byte[] payload = EnvelopeSerializer.Serialize(command);
        string topic = Topics.GatewayCommands(gateway);
        while (true)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.PublishTimeout);
            try
            {
                await _mqtt.PublishAsync(topic, payload, MqttQos.AtLeastOnce, retain: false, timeout.Token);
                Interlocked.Increment(ref _sent);
                return;
            }
            catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                if (_time.GetUtcNow() >= command.ExpiresAt)
                {
                    Interlocked.Increment(ref _expiredUnsent);
                    LogGaveUp(_logger, command.RequestId, command.Mode, gateway, ex.Message);
                    return;
                }

                await Task.Delay(RetryDelay, _time, cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Light command {RequestId} ({Mode}) for gateway {Gateway} expired unsent: {Reason}")]
    private static partial void LogGaveUp(ILogger logger, string requestId, string mode, string gateway, string reason);
}
