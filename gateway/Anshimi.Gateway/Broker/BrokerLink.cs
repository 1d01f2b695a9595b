using System.Text;
using Anshimi.Gateway.Outbox;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace Anshimi.Gateway.Broker;

/// <summary>
/// Owns the gateway's broker session: connects (retrying until the broker is there), and on every
/// (re)connect subscribes to device uplinks and cloud commands, announces "online" and wakes the
/// outbox. The client's own reconnect logic handles later losses; its last will says "offline".
/// </summary>
public sealed partial class BrokerLink(
    IMqttClient mqtt,
    GatewayInbox inbox,
    BrokerStatus status,
    OutboxSignal outboxSignal,
    IOptions<GatewayOptions> options,
    IOptions<MqttClientOptions> brokerOptions,
    TimeProvider time,
    ILogger<BrokerLink> logger) : BackgroundService
{
    public static readonly byte[] Online = Encoding.ASCII.GetBytes("online");
    public static readonly byte[] Offline = Encoding.ASCII.GetBytes("offline");

    private static readonly TimeSpan FarewellTimeout = TimeSpan.FromSeconds(2);

    private readonly string _gatewayId = options.Value.Id;
    private readonly SemaphoreSlim _reconnected = new(0, 1);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Attached before connecting: a persistent session delivers queued messages right after CONNACK.
        mqtt.MessageReceived += OnMessageReceived;
        mqtt.StateChanged += OnStateChanged;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        mqtt.StateChanged -= OnStateChanged;
        mqtt.MessageReceived -= OnMessageReceived;
        if (mqtt.State != MqttConnectionState.Connected)
        {
            return;
        }

        // A clean disconnect suppresses the last will, so say "offline" ourselves.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(FarewellTimeout);
        try
        {
            await mqtt.PublishAsync(Topics.GatewayStatus(_gatewayId), Offline, MqttQos.AtLeastOnce, retain: true, timeout.Token);
            await mqtt.DisconnectAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is MqttException or OperationCanceledException)
        {
            LogFarewellFailed(logger, ex.Message);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        ResiliencePipeline connect = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = TimeSpan.FromSeconds(30),
                OnRetry = args =>
                {
                    LogConnectRetry(logger, args.AttemptNumber + 1, args.RetryDelay.TotalSeconds, args.Outcome.Exception?.Message ?? "");
                    return default;
                },
            })
            .Build();

        try
        {
            await connect.ExecuteAsync(async token => await mqtt.ConnectAsync(token), stoppingToken);
            status.Set(mqtt.State, "connected to " + brokerOptions.Value.Host + ":" + brokerOptions.Value.Port, time.GetUtcNow());
            while (!stoppingToken.IsCancellationRequested)
            {
                if (mqtt.State == MqttConnectionState.Connected)
                {
                    // This pass covers any Connected event already pending.
                    _reconnected.Wait(0, CancellationToken.None);
                    await OnConnectedAsync(stoppingToken);
                }

                await _reconnected.WaitAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task OnConnectedAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Idempotent; repeated because a broker restarted without persistence forgets sessions.
            await mqtt.SubscribeAsync(Topics.AllDeviceUplinks, MqttQos.AtLeastOnce, cancellationToken);
            await mqtt.SubscribeAsync(Topics.GatewayCommands(_gatewayId), MqttQos.AtLeastOnce, cancellationToken);
            await mqtt.PublishAsync(Topics.GatewayStatus(_gatewayId), Online, MqttQos.AtLeastOnce, retain: true, cancellationToken);
            LogConnected(logger, _gatewayId);
        }
        catch (MqttException ex)
        {
            status.Set(MqttConnectionState.Connected, "subscribe failed: " + ex.Message, time.GetUtcNow());
            LogSubscribeFailed(logger, ex.Message);
        }

        // Whatever was in flight when the link dropped may be gone: resend it now, not after backoff.
        outboxSignal.Notify();
    }

    private void OnMessageReceived(object? sender, MqttMessageReceivedEventArgs e) => inbox.Post(e);

    private void OnStateChanged(object? sender, MqttStateChangedEventArgs e)
    {
        status.Set(e.State, e.Reason, time.GetUtcNow());
        LogState(logger, e.State, e.Reason);
        if (e.State == MqttConnectionState.Connected)
        {
            try
            {
                _reconnected.Release();
            }
            catch (SemaphoreFullException)
            {
                // A wake-up is already pending.
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker session ready for gateway {GatewayId}: subscribed, online")]
    private static partial void LogConnected(ILogger logger, string gatewayId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker connection {State}: {Reason}")]
    private static partial void LogState(ILogger logger, MqttConnectionState state, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker connect attempt {Attempt} failed, next in {DelaySeconds:0.0} s: {Error}")]
    private static partial void LogConnectRetry(ILogger logger, int attempt, double delaySeconds, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Broker subscription failed; uplinks may not arrive: {Error}")]
    private static partial void LogSubscribeFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not announce offline before disconnecting: {Error}")]
    private static partial void LogFarewellFailed(ILogger logger, string error);
}
