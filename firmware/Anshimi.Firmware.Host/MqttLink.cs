using System.Text;
using Anshimi.Firmware.Hal;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.Firmware.Host;

/// <summary>
/// The bell's <see cref="IMqttLink"/> over the host's async MQTT client: keeps connecting until the
/// broker takes the device, announces "online" (retained) on every connect, and turns the async
/// calls into the synchronous, time-boxed ones the device code expects.
/// </summary>
public sealed class MqttLink : IMqttLink, IAsyncDisposable
{
    private static readonly byte[] Online = Encoding.ASCII.GetBytes("online");
    private static readonly byte[] Offline = Encoding.ASCII.GetBytes("offline");

    private readonly IMqttClient _client;
    private readonly string _statusTopic;
    private readonly bool _announcesStatus;
    private readonly CancellationTokenSource _stopping = new();
    private Task _connecting = Task.CompletedTask;

    /// <param name="announcesStatus">False for an unclaimed device's anonymous session, which may not use the status topic.</param>
    public MqttLink(IMqttClient client, uint deviceId, bool announcesStatus = true)
    {
        _client = client;
        _statusTopic = Topics.DeviceStatus(deviceId);
        _announcesStatus = announcesStatus;
        _client.StateChanged += OnStateChanged;
        _client.MessageReceived += OnMessageReceived;
    }

    public event MqttMessageHandler? MessageReceived;

    /// <summary>The most recent connection problem, for status displays; null once connected.</summary>
    public string? LastError { get; private set; }

    public bool IsConnected => _client.State == MqttConnectionState.Connected;

    /// <summary>
    /// Connection settings for one provisioned device: username = device id, its own password, a
    /// persistent session so acks queue at the broker while it is away, and "offline" as last will.
    /// </summary>
    public static MqttClientOptions OptionsFor(DeviceRecord device, string host, int port) => new()
    {
        Host = host,
        Port = port,
        ClientId = device.DeviceId,
        Username = device.DeviceId,
        Password = device.MqttPassword,
        CleanSession = false,
        KeepAliveSeconds = 30,
        LastWill = new MqttLastWill { Topic = Topics.DeviceStatus(device.NumericId), Payload = Offline, Qos = MqttQos.AtLeastOnce, Retain = true },
    };

    /// <summary>Starts connecting in the background; the client reconnects by itself once it has connected.</summary>
    public void Start() => _connecting = Task.Run(() => ConnectLoopAsync(_stopping.Token));

    public bool Publish(string topic, byte[] payload, bool qos1, int timeoutMs)
    {
        if (!IsConnected)
        {
            return false;
        }

        return Wait(token => _client.PublishAsync(topic, payload, qos1 ? MqttQos.AtLeastOnce : MqttQos.AtMostOnce, false, token), timeoutMs);
    }

    public bool Subscribe(string topicFilter, int timeoutMs) =>
        IsConnected && Wait(token => _client.SubscribeAsync(topicFilter, MqttQos.AtLeastOnce, token), timeoutMs);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        try
        {
            await _connecting;
        }
        catch (OperationCanceledException)
        {
        }

        _client.StateChanged -= OnStateChanged;
        _client.MessageReceived -= OnMessageReceived;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            // A clean disconnect suppresses the will, so say "offline" first.
            if (IsConnected && _announcesStatus)
            {
                await _client.PublishAsync(_statusTopic, Offline, MqttQos.AtLeastOnce, true, timeout.Token);
            }

            await _client.DisconnectAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is MqttException or OperationCanceledException)
        {
            // Shutting down either way; the broker publishes the will if the goodbye was lost.
        }

        await _client.DisposeAsync();
        _stopping.Dispose();
    }

    // The broker's answer reaches this wait through one thread-pool hop inside the MQTT client, whose
    // completions always run asynchronously. With the pool starved the call times out although the
    // broker has the message; the bell then resends it, and the gateway drops the duplicate counter.
    private static bool Wait(Func<CancellationToken, Task> operation, int timeoutMs)
    {
        using var timeout = new CancellationTokenSource(timeoutMs);
        try
        {
            return operation(timeout.Token).Wait(timeoutMs);
        }
        catch (AggregateException)
        {
            return false;
        }
        catch (MqttException)
        {
            return false;
        }
    }

    private async Task ConnectLoopAsync(CancellationToken stopping)
    {
        var delay = TimeSpan.FromMilliseconds(500);
        while (!stopping.IsCancellationRequested)
        {
            MqttConnectionState state = _client.State;
            if (state is MqttConnectionState.Disconnected)
            {
                try
                {
                    await _client.ConnectAsync(stopping);
                    delay = TimeSpan.FromMilliseconds(500);
                }
                catch (Exception ex) when (ex is MqttException or InvalidOperationException)
                {
                    // InvalidOperationException: the client started reconnecting by itself meanwhile.
                    LastError = ex.Message;
                    delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 10_000));
                }
            }

            await Task.Delay(delay, stopping);
        }
    }

    private void OnStateChanged(object? sender, MqttStateChangedEventArgs e)
    {
        if (e.State != MqttConnectionState.Connected)
        {
            LastError = e.Reason;
            return;
        }

        LastError = null;
        if (!_announcesStatus)
        {
            return;
        }

        // Not on the client's network thread: awaiting the PUBACK there would stall it.
        _ = Task.Run(async () =>
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _client.PublishAsync(_statusTopic, Online, MqttQos.AtLeastOnce, true, timeout.Token);
            }
            catch (Exception ex) when (ex is MqttException or OperationCanceledException)
            {
                LastError = ex.Message;
            }
        });
    }

    private void OnMessageReceived(object? sender, MqttMessageReceivedEventArgs e) => MessageReceived?.Invoke(e.Topic, e.Payload);
}
