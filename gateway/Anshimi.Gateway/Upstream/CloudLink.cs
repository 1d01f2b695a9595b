using Anshimi.Gateway.Broker;
using Anshimi.Gateway.Health;
using Anshimi.Gateway.Outbox;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Upstream;

/// <summary>
/// The box's link to the cloud: the session everything upstream travels on (events, receipts, acks, light
/// commands). It subscribes the gateway's commands, announces "online" (last will "offline") on every connect
/// and wakes the outboxes, whose resend-until-receipt stays the end-to-end guarantee. With <c>Cloud:Url</c> it is
/// a session of its own to the cloud endpoint over TLS, connected here; without it, it is the box's broker
/// session, which <see cref="BrokerLink"/> shares. Down longer than <see cref="CloudLinkOptions.UnreachableAfter"/>,
/// the box says "cloud unreachable" (<see cref="CloudLinkStatus"/>) and raises a 354 trouble of its own, restored
/// when the link returns; both reach the cloud through the trouble outbox once it can.
/// </summary>
public sealed partial class CloudLink(
    [FromKeyedServices(CloudLink.SessionKey)] MqttSession cloud,
    MqttSession box,
    GatewayInbox inbox,
    CloudLinkStatus status,
    OutboxSignal outboxSignal,
    TroubleOutbox troubles,
    IOptions<GatewayOptions> options,
    TimeProvider time,
    ILogger<CloudLink> logger) : BackgroundService
{
    /// <summary>Service key of the session to the cloud (the box's broker session when no endpoint is configured).</summary>
    public const string SessionKey = "cloud";

    private static readonly TimeSpan FarewellTimeout = TimeSpan.FromSeconds(2);

    private readonly string _gatewayId = options.Value.Id;
    private readonly bool _ownsSession = !ReferenceEquals(cloud, box);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _announce;
    private bool _troubleRaised;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Registered before connecting: a persistent session delivers queued commands right after CONNACK.
        cloud.AddSubscription(Topics.GatewayCommands(_gatewayId), MqttQos.AtLeastOnce, PostAsync);
        cloud.StateChanged += OnStateChanged;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        cloud.StateChanged -= OnStateChanged;
        if (cloud.State != MqttConnectionState.Connected)
        {
            return;
        }

        // A clean disconnect suppresses the last will, so say "offline" ourselves.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(FarewellTimeout);
        try
        {
            await cloud.PublishAsync(Topics.GatewayStatus(_gatewayId), BrokerLink.Offline, MqttQos.AtLeastOnce, retain: true, timeout.Token);
            await cloud.DisconnectAsync(timeout.Token);
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
            // Connecting may take hours; the box must say it is cut off meanwhile, so both run side by side.
            Task supervising = SuperviseAsync(stoppingToken);
            await BrokerLink.ConnectUntilUpAsync(cloud, "cloud endpoint", logger, stoppingToken);
            await supervising;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task SuperviseAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            // Taken before looking at the state, so a change in between is not missed.
            Task changed = Volatile.Read(ref _changed).Task;
            if (cloud.State == MqttConnectionState.Connected)
            {
                if (_announce)
                {
                    _announce = false;
                    await OnConnectedAsync(stoppingToken);
                }

                await changed.WaitAsync(stoppingToken);
                continue;
            }

            if (_troubleRaised || status.DownSince is not { } downSince)
            {
                await changed.WaitAsync(stoppingToken);
                continue;
            }

            TimeSpan untilUnreachable = downSince + status.UnreachableAfter - time.GetUtcNow();
            if (untilUnreachable > TimeSpan.Zero)
            {
                using var wake = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                Task elapsed = Task.Delay(untilUnreachable, time, wake.Token);
                await Task.WhenAny(changed, elapsed);
                await wake.CancelAsync();
                stoppingToken.ThrowIfCancellationRequested();
                continue;
            }

            _troubleRaised = true;
            troubles.Enqueue(TroubleOutbox.GatewayDeviceId, ContactIdCode.CommunicationPathFailure, ContactIdQualifier.NewEvent);
            LogUnreachable(logger, downSince, status.Current.Reason);
        }
    }

    private async Task OnConnectedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await cloud.PublishAsync(Topics.GatewayStatus(_gatewayId), BrokerLink.Online, MqttQos.AtLeastOnce, retain: true, cancellationToken);
            LogConnected(logger, _gatewayId, _ownsSession ? "its own cloud endpoint" : "the box broker");
        }
        catch (MqttTransportException ex)
        {
            LogAnnounceFailed(logger, ex.Message);
        }

        if (_troubleRaised)
        {
            _troubleRaised = false;
            troubles.Enqueue(TroubleOutbox.GatewayDeviceId, ContactIdCode.CommunicationPathFailure, ContactIdQualifier.Restore);
            LogReachable(logger);
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
        if (_ownsSession)
        {
            LogState(logger, e.State, e.Reason);
        }

        if (e.State == MqttConnectionState.Connected)
        {
            _announce = true;
        }

        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Cloud link ready for gateway {GatewayId} over {Path}: subscribed, online")]
    private static partial void LogConnected(ILogger logger, string gatewayId, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cloud link {State}: {Reason}")]
    private static partial void LogState(ILogger logger, MqttConnectionState state, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "클라우드 연결 끊김 Cloud unreachable since {Since:o}: {Reason}; alarms are kept and sent when it returns")]
    private static partial void LogUnreachable(ILogger logger, DateTimeOffset since, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Cloud reachable again; sending what was kept")]
    private static partial void LogReachable(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not announce online to the cloud: {Error}")]
    private static partial void LogAnnounceFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not announce offline to the cloud before disconnecting: {Error}")]
    private static partial void LogFarewellFailed(ILogger logger, string error);
}
