using Anshimi.Mqtt;
using Anshimi.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Provisioning;

/// <summary>
/// Listens for unclaimed devices' hellos on the gateway's broker session (subscribing on every
/// connect) and makes sure anonymous clients may reach the provisioning topics and nothing else.
/// </summary>
public sealed partial class ProvisioningListener(
    IMqttClient mqtt,
    HelloBoard board,
    DynamicSecurity dynamicSecurity,
    AdminToken adminToken,
    ILogger<ProvisioningListener> logger) : BackgroundService
{
    private readonly SemaphoreSlim _connected = new(0, 1);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Made at start, so the installer finds the token file as soon as the service runs.
        LogAdminToken(logger, adminToken.Path);
        mqtt.MessageReceived += OnMessage;
        mqtt.StateChanged += OnStateChanged;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        mqtt.MessageReceived -= OnMessage;
        mqtt.StateChanged -= OnStateChanged;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await EnsureBrokerPolicyAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                if (mqtt.State == MqttConnectionState.Connected)
                {
                    _connected.Wait(0, CancellationToken.None);
                    try
                    {
                        await mqtt.SubscribeAsync(Topics.AllProvisioningHellos, MqttQos.AtMostOnce, stoppingToken);
                    }
                    catch (MqttException ex)
                    {
                        LogSubscribeFailed(logger, ex.Message);
                    }
                }

                await _connected.WaitAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task EnsureBrokerPolicyAsync(CancellationToken stoppingToken)
    {
        for (var delay = TimeSpan.FromSeconds(1); ; delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 30)))
        {
            try
            {
                await dynamicSecurity.EnsureBrokerPolicyAsync(stoppingToken);
                LogUnclaimedAccess(logger);
                return;
            }
            catch (Exception ex) when (ex is DynamicSecurityException or IOException or UnauthorizedAccessException)
            {
                LogSetupFailed(logger, ex.Message, delay.TotalSeconds);
                await Task.Delay(delay, stoppingToken);
            }
        }
    }

    private void OnMessage(object? sender, MqttMessageReceivedEventArgs e) => board.Post(e.Topic, e.Payload);

    private void OnStateChanged(object? sender, MqttStateChangedEventArgs e)
    {
        if (e.State != MqttConnectionState.Connected)
        {
            return;
        }

        try
        {
            _connected.Release();
        }
        catch (SemaphoreFullException)
        {
            // A wake-up is already pending.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Installer API token in {Path} (owner-only)")]
    private static partial void LogAdminToken(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker policy in place: clients receive only what their role grants; unclaimed devices reach the provisioning topics only (anonymous group set)")]
    private static partial void LogUnclaimedAccess(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provisioning setup at the broker failed, retrying in {DelaySeconds} s: {Error}")]
    private static partial void LogSetupFailed(ILogger logger, string error, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Subscription to provisioning hellos failed: {Error}")]
    private static partial void LogSubscribeFailed(ILogger logger, string error);
}
