using System.Text;
using Anshimi.Gateway.Upstream;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Broker;

/// <summary>
/// The gateway's session on the box's broker: routes device uplinks to the inbox and reports the session's state.
/// When the cloud is reached through this same broker, <see cref="CloudLink"/> connects and closes the shared
/// session; when the box has a cloud endpoint of its own, this link connects (retrying until the broker is
/// there) and closes the box session itself. The session reconnects and resubscribes on its own.
/// </summary>
public sealed partial class BrokerLink(
    MqttSession mqtt,
    [FromKeyedServices(CloudLink.SessionKey)] MqttSession cloud,
    GatewayInbox inbox,
    BrokerStatus status,
    TimeProvider time,
    ILogger<BrokerLink> logger) : BackgroundService
{
    public static readonly byte[] Online = Encoding.ASCII.GetBytes("online");
    public static readonly byte[] Offline = Encoding.ASCII.GetBytes("offline");

    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(2);

    private readonly bool _ownsSession = !ReferenceEquals(mqtt, cloud);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Registered before connecting: a persistent session delivers queued messages right after CONNACK.
        mqtt.AddSubscription(Topics.AllDeviceUplinks, MqttQos.AtLeastOnce, PostAsync);
        mqtt.StateChanged += OnStateChanged;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        mqtt.StateChanged -= OnStateChanged;
        if (!_ownsSession || mqtt.State != MqttConnectionState.Connected)
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CloseTimeout);
        try
        {
            await mqtt.DisconnectAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException)
        {
            LogCloseFailed(logger, ex.Message);
        }
    }

    /// <summary>
    /// Until <paramref name="session"/>'s broker takes the gateway: each call after a failure waits the session's
    /// backoff first. Refusals are logged and retried (usually the account is not in place yet).
    /// </summary>
    internal static async Task ConnectUntilUpAsync(MqttSession session, string peer, ILogger logger, CancellationToken stoppingToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await session.ConnectAsync(stoppingToken);
                return;
            }
            catch (MqttConnectionRefusedException ex)
            {
                LogConnectRefused(logger, peer, attempt, ex.Refusal, ex.Message);
            }
            catch (MqttConnectTimeoutException ex)
            {
                LogConnectRetry(logger, peer, attempt, ex.Message);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_ownsSession)
        {
            return;
        }

        try
        {
            await ConnectUntilUpAsync(mqtt, "box broker", logger, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
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
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker connection {State}: {Reason}")]
    private static partial void LogState(ILogger logger, MqttConnectionState state, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connect attempt {Attempt} to the {Peer} gave up, trying again: {Error}")]
    private static partial void LogConnectRetry(ILogger logger, string peer, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "The {Peer} refused connect attempt {Attempt} ({Refusal}), trying again: {Error}")]
    private static partial void LogConnectRefused(ILogger logger, string peer, int attempt, MqttConnectRefusal refusal, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not close the box broker session: {Error}")]
    private static partial void LogCloseFailed(ILogger logger, string error);
}
