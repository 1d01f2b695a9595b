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
/// that gateway may speak for what the envelope is about, and hands it to the one handler of its kind. One loop takes
/// the envelopes in the order the broker delivered them, and each time everything that is waiting: consecutive alarms
/// among them are stored in one transaction. Replies go out without the loop waiting for their PUBACKs.
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

    // A burst larger than this is committed in several transactions; it bounds how long the first alarm of a burst
    // waits for the last one's checks.
    private const int MaxBurst = 64;

    // The network thread only enqueues; the gateways' outboxes bound how much can be in flight.
    private readonly Channel<MqttMessage> _inbox =
        Channel.CreateUnbounded<MqttMessage>(new UnboundedChannelOptions { SingleReader = true });

    // The single-reader channel does not count its items.
    private int _waiting;

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

    /// <summary>Envelopes waiting for the ingress loop (taken from the broker, not yet handled).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Handles one message from a gateway events topic; never throws for bad input.</summary>
    public Task HandleAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        HandleInOrderAsync([new MqttMessage(topic, payload.ToArray(), MqttQos.AtLeastOnce, retain: false)], isolateFailures: false, cancellationToken);

    /// <summary>
    /// Handles messages that were waiting together, in the order they came. A run of consecutive envelopes whose handler
    /// takes bursts (alarms) is authorized envelope by envelope and then handed over in one call; any other envelope is
    /// handled only after the run before it, so what it changes (a binding) is in place before the next one is authorized.
    /// </summary>
    private async Task HandleInOrderAsync(IReadOnlyList<MqttMessage> messages, bool isolateFailures, CancellationToken cancellationToken)
    {
        var run = new List<(string Topic, GatewayEnvelope Envelope)>();
        IGatewayEnvelopeBurstHandler? runHandler = null;
        foreach (MqttMessage message in messages)
        {
            if (Parse(message.Topic, message.Payload) is not { } parsed)
            {
                continue;
            }

            var burstHandler = parsed.Handler as IGatewayEnvelopeBurstHandler;
            if (burstHandler is null || burstHandler != runHandler)
            {
                await HandleRunAsync(runHandler, run, isolateFailures, cancellationToken);
                run.Clear();
                runHandler = burstHandler;
            }

            if (burstHandler is not null)
            {
                await RunIsolatedAsync(async () =>
                {
                    if (await AuthorizeAsync(message.Topic, parsed, cancellationToken) is { } allowed)
                    {
                        run.Add((message.Topic, allowed));
                    }
                }, 1, message.Topic, isolateFailures, cancellationToken);
                continue;
            }

            await RunIsolatedAsync(async () =>
            {
                if (await AuthorizeAsync(message.Topic, parsed, cancellationToken) is { } allowed
                    && await parsed.Handler.HandleAsync(allowed, cancellationToken) is { } problem)
                {
                    Drop(message.Topic, problem);
                }
            }, 1, message.Topic, isolateFailures, cancellationToken);
        }

        await HandleRunAsync(runHandler, run, isolateFailures, cancellationToken);
    }

    private Task HandleRunAsync(
        IGatewayEnvelopeBurstHandler? handler, List<(string Topic, GatewayEnvelope Envelope)> run, bool isolateFailures, CancellationToken cancellationToken)
    {
        if (handler is null || run.Count == 0)
        {
            return Task.CompletedTask;
        }

        (string Topic, GatewayEnvelope Envelope)[] envelopes = [.. run];
        return RunIsolatedAsync(async () =>
        {
            IReadOnlyList<string?> problems = await handler.HandleBurstAsync([.. envelopes.Select(r => r.Envelope)], cancellationToken);
            for (int i = 0; i < envelopes.Length; i++)
            {
                if (problems[i] is { } problem)
                {
                    Drop(envelopes[i].Topic, problem);
                }
            }
        }, envelopes.Length, envelopes[0].Topic, isolateFailures, cancellationToken);
    }

    /// <summary>In the loop, a failure (a store that cannot commit) costs only the envelopes it was handling: none of them is receipted.</summary>
    private async Task RunIsolatedAsync(Func<Task> work, int envelopes, string topic, bool isolateFailures, CancellationToken cancellationToken)
    {
        if (!isolateFailures)
        {
            await work();
            return;
        }

        try
        {
            await work();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Not acknowledged by a receipt, so the gateways will offer them again.
            _statistics.HandlingFailed(envelopes);
            LogHandlingFailed(_logger, ex, envelopes, topic);
        }
    }

    /// <summary>The envelope and its one handler, or null when it was dropped as malformed (counted and logged).</summary>
    private Parsed? Parse(string topic, ReadOnlyMemory<byte> payload)
    {
        string? gatewayId = Topics.GatewayIdOf(topic);
        if (gatewayId is null || topic != Topics.GatewayEvents(gatewayId))
        {
            Drop(topic, "not a gateway events topic");
            return null;
        }

        if (!EnvelopeSerializer.TryParse(payload.Span, out Envelope? envelope, out string error))
        {
            Drop(topic, error);
            return null;
        }

        if (!_handlers.TryGetValue(envelope!.GetType(), out IGatewayEnvelopeHandler? handler))
        {
            Drop(topic, "unexpected envelope " + envelope.GetType().Name + " on a gateway events topic");
            return null;
        }

        return new Parsed(gatewayId, envelope, handler);
    }

    /// <summary>What the handler gets, or null when the envelope was dropped or refused (counted, and audited when refused).</summary>
    private async Task<GatewayEnvelope?> AuthorizeAsync(string topic, Parsed parsed, CancellationToken cancellationToken)
    {
        switch (await _authorization.AuthorizeAsync(parsed.GatewayId, parsed.Envelope, cancellationToken))
        {
            case GatewayVerdict.Malformed malformed:
                Drop(topic, malformed.Problem);
                return null;
            case GatewayVerdict.Refused refused:
                // Not answered: a gateway re-sending what it may not send changes nothing but the counter.
                await _refusals.ReportAsync(parsed.GatewayId, refused, cancellationToken);
                return null;
            case GatewayVerdict.Allowed allowed:
                return new GatewayEnvelope(parsed.GatewayId, parsed.Envelope, allowed.Device, allowed.VerifiedFrame);
            default:
                return null;
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
        var waiting = new List<MqttMessage>(MaxBurst);
        while (await _inbox.Reader.WaitToReadAsync(cancellationToken))
        {
            // Everything that came in while the last burst was handled goes together: one commit for its alarms.
            waiting.Clear();
            while (waiting.Count < MaxBurst && _inbox.Reader.TryRead(out MqttMessage? message))
            {
                Interlocked.Decrement(ref _waiting);
                waiting.Add(message);
            }

            await HandleInOrderAsync(waiting, isolateFailures: true, cancellationToken);
        }
    }

    private Task OnMessageAsync(MqttMessage message, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        _inbox.Writer.TryWrite(message);
        return Task.CompletedTask;
    }

    private void OnStateChanged(object? sender, MqttStateChangedEventArgs e)
    {
        LogMqttState(_logger, e.State, e.Reason);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "MQTT connect failed ({Reason}); retrying")]
    private static partial void LogConnectFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Handling {Count} envelopes (the first on {Topic}) failed; none was receipted and the gateways will re-send them")]
    private static partial void LogHandlingFailed(ILogger logger, Exception exception, int count, string topic);

    /// <summary>An envelope parsed from a gateway's events topic, with the handler of its kind.</summary>
    private sealed record Parsed(string GatewayId, Envelope Envelope, IGatewayEnvelopeHandler Handler);

    [LoggerMessage(Level = LogLevel.Information, Message = "MQTT {State}: {Reason}")]
    private static partial void LogMqttState(ILogger logger, MqttConnectionState state, string reason);
}
