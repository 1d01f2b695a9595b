using Anshimi.Mqtt;
using Anshimi.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Provisioning;

/// <summary>
/// Listens for unclaimed devices' hellos on the gateway's broker session and makes sure anonymous
/// clients may reach the provisioning topics and nothing else.
/// </summary>
public sealed partial class ProvisioningListener(
    MqttSession mqtt,
    HelloBoard board,
    DynamicSecurity dynamicSecurity,
    AdminToken adminToken,
    ILogger<ProvisioningListener> logger) : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Made at start, so the installer finds the token file as soon as the service runs.
        LogAdminToken(logger, adminToken.Path);
        mqtt.AddSubscription(Topics.AllProvisioningHellos, MqttQos.AtMostOnce, OnHelloAsync);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await EnsureBrokerPolicyAsync(stoppingToken);
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

    private Task OnHelloAsync(MqttMessage message, CancellationToken cancellationToken)
    {
        board.Post(message.Topic, message.Payload);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Installer API token in {Path} (owner-only)")]
    private static partial void LogAdminToken(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker policy in place: clients receive only what their role grants; unclaimed devices reach the provisioning topics only (anonymous group set)")]
    private static partial void LogUnclaimedAccess(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provisioning setup at the broker failed, retrying in {DelaySeconds} s: {Error}")]
    private static partial void LogSetupFailed(ILogger logger, string error, double delaySeconds);

}
