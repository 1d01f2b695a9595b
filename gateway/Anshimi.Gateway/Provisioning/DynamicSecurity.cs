using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Anshimi.Gateway.Provisioning;

/// <summary>The broker refused a dynamic-security command.</summary>
public sealed class DynamicSecurityException(string message) : Exception(message);

/// <summary>
/// Device accounts in Mosquitto's dynamic-security plugin, driven over its
/// <c>$CONTROL/dynamic-security/v1</c> topic with a dedicated admin account (its own session, so
/// the alarm path's session never holds admin rights). Each device gets a client named by its id
/// and a role whose ACL allows only its own topics; unclaimed devices get, as anonymous clients,
/// only the provisioning topics.
/// </summary>
public sealed partial class DynamicSecurity(
    IMqttTransportFactory transports,
    IOptions<MqttClientOptions> broker,
    IOptions<ProvisioningOptions> options,
    ILogger<DynamicSecurity> logger) : IAsyncDisposable
{
    public const string ControlTopic = "$CONTROL/dynamic-security/v1";
    public const string ResponseTopic = ControlTopic + "/response";

    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonArray>> _pending = new(StringComparer.Ordinal);
    private MqttSession? _session;

    /// <summary>Applies <see cref="BrokerAccounts.BrokerPolicyCommands"/>; parts already in place are fine.</summary>
    public Task EnsureBrokerPolicyAsync(CancellationToken cancellationToken) =>
        RunAsync(BrokerAccounts.BrokerPolicyCommands(), tolerate: "already", cancellationToken);

    /// <summary>Creates (or re-creates, with a new password) the device's account and role.</summary>
    public async Task CreateDeviceAccountAsync(uint deviceId, string password, CancellationToken cancellationToken)
    {
        await DeleteDeviceAccountAsync(deviceId, cancellationToken);
        await RunAsync(BrokerAccounts.CreateDeviceCommands(deviceId, password), tolerate: null, cancellationToken);
        LogAccountCreated(logger, DeviceIdText.Format(deviceId));
    }

    /// <summary>Deletes the device's account (the broker disconnects it at once) and its role; absent ones are fine.</summary>
    public async Task DeleteDeviceAccountAsync(uint deviceId, CancellationToken cancellationToken)
    {
        await RunAsync(BrokerAccounts.DeleteDeviceCommands(deviceId), tolerate: "not found", cancellationToken);
        LogAccountDeleted(logger, DeviceIdText.Format(deviceId));
    }

    /// <summary>
    /// Gives the gateway service its broker account (re-created, so a changed password or a newer rule set
    /// takes effect), with exactly <see cref="BrokerAccounts.GatewayService"/>'s rules.
    /// </summary>
    public async Task EnsureGatewayAccountAsync(string userName, string password, string gatewayId, CancellationToken cancellationToken)
    {
        string role = BrokerAccounts.ServiceRole(userName);
        await RunAsync(BrokerAccounts.DeleteAccountCommands(userName, role), tolerate: "not found", cancellationToken);
        await RunAsync(BrokerAccounts.CreateAccountCommands(userName, password, role, BrokerAccounts.GatewayService(gatewayId)), tolerate: null, cancellationToken);
        LogServiceAccountCreated(logger, userName);
    }

    public async ValueTask DisposeAsync()
    {
        if (_session is not null)
        {
            await _session.DisposeAsync();
        }

        _connectGate.Dispose();
    }

    /// <summary>Sends the commands in one message and waits for their answers; throws on any error not tolerated.</summary>
    private async Task RunAsync(JsonObject[] commands, string? tolerate, CancellationToken cancellationToken)
    {
        MqttSession session = await ConnectedAsync(cancellationToken);
        string correlation = Guid.NewGuid().ToString("N");
        var batch = new JsonArray();
        foreach (JsonObject command in commands)
        {
            command["correlationData"] = correlation;
            batch.Add(command);
        }

        var answer = new TaskCompletionSource<JsonArray>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[correlation] = answer;
        try
        {
            byte[] payload = JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["commands"] = batch });
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Value.ControlTimeout);
            await session.PublishAsync(ControlTopic, payload, MqttQos.AtLeastOnce, retain: false, timeout.Token);

            // Responses to one message come back in one message; correlation data names it.
            JsonArray responses = await answer.Task.WaitAsync(timeout.Token);
            foreach (JsonNode? response in responses)
            {
                string? error = response?["error"]?.GetValue<string>();
                if (error is not null && (tolerate is null || !error.Contains(tolerate, StringComparison.OrdinalIgnoreCase)))
                {
                    throw new DynamicSecurityException(response?["command"]?.GetValue<string>() + ": " + error);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DynamicSecurityException("the broker did not answer within " + options.Value.ControlTimeout.TotalSeconds + " s");
        }
        finally
        {
            _pending.TryRemove(correlation, out _);
        }
    }

    private async Task<MqttSession> ConnectedAsync(CancellationToken cancellationToken)
    {
        await _connectGate.WaitAsync(cancellationToken);
        try
        {
            if (_session is null)
            {
                MqttClientOptions main = broker.Value;
                ProvisioningOptions provisioning = options.Value;
                var admin = new MqttClientOptions
                {
                    Host = main.Host,
                    Port = main.Port,
                    TlsCaFile = main.TlsCaFile,
                    ClientId = BrokerListeners.AccountClientId("provisioner-" + Guid.NewGuid().ToString("N")[..8]),
                    Username = provisioning.DynamicSecurityUsername,
                    Password = (await File.ReadAllTextAsync(provisioning.DynamicSecurityPasswordFile, cancellationToken)).Trim(),
                    CleanSession = true,
                    KeepAliveSeconds = main.KeepAliveSeconds,
                    ConnectTimeout = provisioning.ControlTimeout,
                    Reconnect = main.Reconnect,
                };
                _session = new MqttSession(transports.Create(admin), admin, message => LogSessionMessage(logger, message));
                _session.AddSubscription(ResponseTopic, MqttQos.AtLeastOnce, OnResponseAsync);
            }

            if (!_session.IsConnected)
            {
                try
                {
                    await _session.ConnectAsync(cancellationToken);
                }
                catch (MqttTransportException ex)
                {
                    throw new DynamicSecurityException("cannot reach the broker's dynamic-security control as " + options.Value.DynamicSecurityUsername + ": " + ex.Message);
                }
            }

            return _session;
        }
        finally
        {
            _connectGate.Release();
        }
    }

    private Task OnResponseAsync(MqttMessage message, CancellationToken cancellationToken)
    {
        try
        {
            JsonArray? responses = JsonNode.Parse(message.Payload)?["responses"]?.AsArray();
            string? correlation = responses?.Count > 0 ? responses[0]?["correlationData"]?.GetValue<string>() : null;
            if (correlation is not null && _pending.TryGetValue(correlation, out TaskCompletionSource<JsonArray>? waiter))
            {
                waiter.TrySetResult(responses!);
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            LogBadResponse(logger, ex.Message);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker account for device {DeviceId} created with its own role")]
    private static partial void LogAccountCreated(ILogger logger, string deviceId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker account for the gateway service {UserName} created with its own role")]
    private static partial void LogServiceAccountCreated(ILogger logger, string userName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Broker account for device {DeviceId} deleted")]
    private static partial void LogAccountDeleted(ILogger logger, string deviceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unreadable dynamic-security response ignored: {Error}")]
    private static partial void LogBadResponse(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dynamic-security session: {Message}")]
    private static partial void LogSessionMessage(ILogger logger, string message);
}
