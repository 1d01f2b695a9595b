using System.Threading.Channels;
using Anshimi.CloudBridge.Hosting;
using Anshimi.Mqtt;
using Microsoft.Extensions.Options;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Ingress;

/// <summary>
/// Owns the bridge's MQTT session for gateway events (QoS 1, persistent session): parses each envelope, takes the
/// sending gateway from the topic the broker confines it to, asks the <see cref="IGatewayAuthorization"/> once whether
/// that gateway may speak for what the envelope is about, and hands it to the one handler of its kind.
/// </summary>
public sealed partial class GatewayIngress : BackgroundService
{
    private readonly MqttSession _mqtt;
    private readonly Dictionary<Type, IGatewayEnvelopeHandler> _handlers;
    private readonly IGatewayAuthorization _authorization;
    private readonly GatewayRefusals _refusals;
    private readonly RelayStatistics _statistics;
    private readonly MalformedEnvelopeLog _malformed;
    private readonly ILogger<GatewayIngress> _logger;
    private readonly string _eventsFilter;

    // The network thread only enqueues; the gateways' outboxes bound how much can be in flight.
    private readonly Channel<MqttMessage> _inbox =
        Channel.CreateUnbounded<MqttMessage>(new UnboundedChannelOptions { SingleReader = true });

    public GatewayIngress(
        MqttSession mqtt,
        IEnumerable<IGatewayEnvelopeHandler> handlers,
        IGatewayAuthorization authorization,
        GatewayRefusals refusals,
        RelayStatistics statistics,
        MalformedEnvelopeLog malformed,
        IOptions<CloudBridgeOptions> options,
        ILogger<GatewayIngress> logger)
    {
        string? group = options.Value.IngressShareGroup;
        _eventsFilter = string.IsNullOrEmpty(group) ? Topics.AllGatewayEvents : SharedSubscription.Filter(group, Topics.AllGatewayEvents);
        _mqtt = mqtt;
        _handlers = handlers.ToDictionary(h => h.EnvelopeType);
        _authorization = authorization;
        _refusals = refusals;
        _statistics = statistics;
        _malformed = malformed;
        _logger = logger;
    }

    /// <summary>True once the broker has confirmed the events subscription on the current connection.</summary>
    public bool IsSubscribed => _mqtt.State == MqttConnectionState.Connected;

    /// <summary>Handles one message from a gateway events topic; never throws for bad input.</summary>
    public async Task HandleAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        string? gatewayId = Topics.GatewayIdOf(topic);
        if (gatewayId is null || topic != Topics.GatewayEvents(gatewayId))
        {
            Drop(topic, "not a gateway events topic");
            return;
        }

        if (!EnvelopeSerializer.TryParse(payload.Span, out Envelope? envelope, out string error))
        {
            Drop(topic, error);
            return;
        }

        if (!_handlers.TryGetValue(envelope!.GetType(), out IGatewayEnvelopeHandler? handler))
        {
            Drop(topic, "unexpected envelope " + envelope.GetType().Name + " on a gateway events topic");
            return;
        }

        switch (await _authorization.AuthorizeAsync(gatewayId, envelope, cancellationToken))
        {
            case GatewayVerdict.Malformed malformed:
                Drop(topic, malformed.Problem);
                break;
            case GatewayVerdict.Refused refused:
                // Not answered: a gateway re-sending what it may not send changes nothing but the counter.
                await _refusals.ReportAsync(gatewayId, refused, cancellationToken);
                break;
            case GatewayVerdict.Allowed allowed:
                if (await handler.HandleAsync(new GatewayEnvelope(gatewayId, envelope, allowed.Device, allowed.VerifiedFrame), cancellationToken) is { } problem)
                {
                    Drop(topic, problem);
                }

                break;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The session subscribes before it reports Connected, and again whenever the broker lost the session.
        _mqtt.AddSubscription(_eventsFilter, MqttQos.AtLeastOnce, OnMessageAsync);
        _mqtt.StateChanged += OnStateChanged;
        try
        {
            await ConnectAsync(stoppingToken);
            await ProcessInboxAsync(stoppingToken);
        }
        finally
        {
            _mqtt.StateChanged -= OnStateChanged;
        }
    }

    private void Drop(string topic, string reason)
    {
        _statistics.MalformedDropped();
        _malformed.Report(topic, reason);
    }

    /// <summary>Until the broker takes the bridge: each call after a failure waits the session's backoff first.</summary>
    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await _mqtt.ConnectAsync(cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is MqttConnectionRefusedException or MqttConnectTimeoutException)
            {
                LogConnectFailed(_logger, ex.Message);
            }
        }
    }

    private async Task ProcessInboxAsync(CancellationToken cancellationToken)
    {
        await foreach (MqttMessage message in _inbox.Reader.ReadAllAsync(cancellationToken))
        {
            try
            {
                await HandleAsync(message.Topic, message.Payload, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Not acknowledged by a receipt, so the gateway will offer it again.
                LogHandlingFailed(_logger, ex, message.Topic);
            }
        }
    }

    private Task OnMessageAsync(MqttMessage message, CancellationToken cancellationToken)
    {
        _inbox.Writer.TryWrite(message);
        return Task.CompletedTask;
    }

    private void OnStateChanged(object? sender, MqttStateChangedEventArgs e)
    {
        LogMqttState(_logger, e.State, e.Reason);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT connect failed ({Reason}); retrying")]
    private static partial void LogConnectFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling a message on {Topic} failed; the gateway will re-send it")]
    private static partial void LogHandlingFailed(ILogger logger, Exception exception, string topic);

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT {State}: {Reason}")]
    private static partial void LogMqttState(ILogger logger, MqttConnectionState state, string reason);
}
