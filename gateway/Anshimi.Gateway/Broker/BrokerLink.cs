using System.Text;
using Anshimi.Gateway.Outbox;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Broker;

/// <summary>
/// The gateway's broker session: routes device uplinks and cloud commands to the inbox, connects
/// (retrying until the broker is there), and on every (re)connect announces "online" and wakes the
/// outbox. The session itself reconnects and resubscribes; its last will says "offline".
/// </summary>
public sealed partial class BrokerLink(
    MqttSession mqtt,
    GatewayInbox inbox,
    BrokerStatus status,
    OutboxSignal outboxSignal,
    IOptions<GatewayOptions> options,
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
        // Registered before connecting: a persistent session delivers queued messages right after CONNACK.
        mqtt.AddSubscription(Topics.AllDeviceUplinks, MqttQos.AtLeastOnce, PostAsync);
        mqtt.AddSubscription(Topics.GatewayCommands(_gatewayId), MqttQos.AtLeastOnce, PostAsync);
        mqtt.StateChanged += OnStateChanged;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        mqtt.StateChanged -= OnStateChanged;
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
        catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException)
        {
            LogFarewellFailed(logger, ex.Message);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await ConnectAsync(stoppingToken);
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

    /// <summary>Until the broker takes the gateway: each call after a failure waits the session's backoff first.</summary>
    private async Task ConnectAsync(CancellationToken stoppingToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await mqtt.ConnectAsync(stoppingToken);
                return;
            }
            catch (MqttConnectionRefusedException ex)
            {
                // Usually the broker's account for the gateway is not in place yet; keep trying.
                LogConnectRefused(logger, attempt, ex.Refusal, ex.Message);
            }
            catch (MqttConnectTimeoutException ex)
            {
                LogConnectRetry(logger, attempt, ex.Message);
            }
        }
    }

    private async Task OnConnectedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await mqtt.PublishAsync(Topics.GatewayStatus(_gatewayId), Online, MqttQos.AtLeastOnce, retain: true, cancellationToken);
            LogConnected(logger, _gatewayId);
        }
        catch (MqttTransportException ex)
        {
            LogAnnounceFailed(logger, ex.Message);
        }

        // Whatever was in flight when the link dropped may be gone: resend it now, not after backoff.
        outboxSignal.Notify();
    }

    private Task PostAsync(MqttMessage message, CancellationToken cancellationToken)
    {
        inbox.Post(message);
        return Task.CompletedTask;
    }

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Broker connect attempt {Attempt} gave up, trying again: {Error}")]
    private static partial void LogConnectRetry(ILogger logger, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Broker refused connect attempt {Attempt} ({Refusal}), trying again: {Error}")]
    private static partial void LogConnectRefused(ILogger logger, int attempt, MqttConnectRefusal refusal, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not announce online: {Error}")]
    private static partial void LogAnnounceFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not announce offline before disconnecting: {Error}")]
    private static partial void LogFarewellFailed(ILogger logger, string error);
}
