using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Cameras;
using Anshimi.Mqtt;

namespace Anshimi.CloudBridge.Upstreams.IotHub;

/// <summary>
/// Sends each alarm as a device-to-cloud message to an Azure IoT Hub over its MQTT device protocol
/// (TLS, SAS token), QoS 1: delivered on the hub's PUBACK. The connection is replaced with one under a
/// fresh token before the old token expires, whether alarms flow or not.
/// </summary>
public sealed class IotHubUpstream : IUpstream
{
    private readonly IotHubUpstreamOptions _options;
    private readonly IMqttTransportFactory _transports;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private MqttSession? _client;
    private DateTimeOffset _tokenExpiry;
    private string _link = "not connected yet";
    private int _tokensIssued;
    private readonly SiteSurroundings? _surroundings;

    /// <param name="surroundings">Adds the neighbourhood and nearest cameras to each alarm; null leaves them out.</param>
    public IotHubUpstream(IotHubUpstreamOptions options, IMqttTransportFactory transports, TimeProvider time, SiteSurroundings? surroundings = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _surroundings = surroundings;
        _transports = transports;
        _time = time;
    }

    public string Name => _options.Name;

    public string Kind => "iothub";

    public string? Link => Volatile.Read(ref _link);

    /// <summary>How many SAS tokens were signed so far (one per connection).</summary>
    public int TokensIssued => Volatile.Read(ref _tokensIssued);

    public async Task<DeliveryResult> DeliverAsync(AlarmRecord alarm, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            MqttSession client = await ConnectedClientAsync(cancellationToken);
            byte[] body = UpstreamAlarmMessage.From(alarm, _surroundings?.Of(alarm), _time.GetUtcNow()).ToUtf8Json();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.PublishTimeout);
            await client.PublishAsync(IotHubSasToken.EventsTopic(_options.DeviceId, alarm.Key, alarm.Test), body, MqttQos.AtLeastOnce, retain: false, timeout.Token);
            return DeliveryResult.Delivered("PUBACK from " + _options.HostName);
        }
        catch (MqttTransportException ex)
        {
            await DropClientAsync(ex.Message);
            return DeliveryResult.Transient(ex.Message);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await DropClientAsync("no PUBACK in time");
            return DeliveryResult.Transient($"no PUBACK within {_options.PublishTimeout}");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Renews the token ahead of its expiry while connected, so the hub never cuts an idle link.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            TimeSpan wait = _client is null ? _options.TokenRenewBefore : RenewAt() - _time.GetUtcNow();
            await Task.Delay(wait > TimeSpan.FromSeconds(1) ? wait : TimeSpan.FromSeconds(1), _time, cancellationToken);
            await _gate.WaitAsync(cancellationToken);
            try
            {
                if (_client is not null && _time.GetUtcNow() >= RenewAt())
                {
                    await ConnectedClientAsync(cancellationToken);
                }
            }
            catch (MqttTransportException ex)
            {
                await DropClientAsync(ex.Message);
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            await DropClientAsync("stopped");
        }
        finally
        {
            _gate.Release();
        }
    }

    private DateTimeOffset RenewAt() => _tokenExpiry - _options.TokenRenewBefore;

    /// <summary>The current connection, or a new one under a fresh token when there is none or its token is due for renewal.</summary>
    private async Task<MqttSession> ConnectedClientAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (_client is not null && now < RenewAt())
        {
            return _client;
        }

        // One connection per device identity: the hub would close the older one anyway.
        await DropClientAsync("renewing the SAS token");
        DateTimeOffset expiry = now + _options.TokenLifetime;
        string host = _options.ConnectHost ?? _options.HostName;
        var options = new MqttClientOptions
        {
            Host = host,
            Port = _options.Port,
            ClientId = _options.DeviceId,
            Username = IotHubSasToken.Username(_options.HostName, _options.DeviceId),
            Password = IotHubSasToken.Create(_options.HostName, _options.DeviceId, _options.SharedAccessKey, expiry),
            CleanSession = true,
            KeepAliveSeconds = 60,
            TlsCaFile = _options.TlsCaFile,
            ConnectTimeout = _options.ConnectTimeout,
        };
        var client = new MqttSession(_transports.Create(options), options);
        Interlocked.Increment(ref _tokensIssued);
        try
        {
            await client.ConnectAsync(cancellationToken);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }

        _client = client;
        _tokenExpiry = expiry;
        Volatile.Write(ref _link, $"connected to {host}:{_options.Port}, token valid until {expiry:u}");
        return client;
    }

    private async Task DropClientAsync(string reason)
    {
        Volatile.Write(ref _link, "disconnected: " + reason);
        if (_client is not { } client)
        {
            return;
        }

        _client = null;
        try
        {
            await client.DisconnectAsync(CancellationToken.None);
        }
        catch (MqttTransportException)
        {
            // Already gone; disposing is all that is left.
        }

        await client.DisposeAsync();
    }
}
