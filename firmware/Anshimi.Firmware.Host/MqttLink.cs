using System.Text;
using Anshimi.Firmware.Hal;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.Firmware.Host;

/// <summary>
/// The bell's <see cref="IMqttLink"/> over the host's MQTT session: keeps connecting until the broker
/// takes the device (the session reconnects by itself after that), announces "online" (retained) on
/// every connect, and turns the async calls into the synchronous, time-boxed ones the device code expects.
/// </summary>
public sealed class MqttLink : IMqttLink, IAsyncDisposable
{
    private static readonly byte[] Online = Encoding.ASCII.GetBytes("online");
    private static readonly byte[] Offline = Encoding.ASCII.GetBytes("offline");

    private readonly MqttSession _session;
    private readonly string _statusTopic;
    private readonly bool _announcesStatus;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<string, Task> _subscribing = [];
    private Task _connecting = Task.CompletedTask;

    /// <param name="announcesStatus">False for an unclaimed device's anonymous session, which may not use the status topic.</param>
    public MqttLink(MqttSession session, uint deviceId, bool announcesStatus = true)
    {
        _session = session;
        _statusTopic = Topics.DeviceStatus(deviceId);
        _announcesStatus = announcesStatus;
        _session.StateChanged += OnStateChanged;
    }

    public event MqttMessageHandler? MessageReceived;

    /// <summary>The most recent connection problem, for status displays; null once connected.</summary>
    public string? LastError { get; private set; }

    public bool IsConnected => _session.IsConnected;

    /// <summary>
    /// Connection settings for one provisioned device: username = device id, its own password, a
    /// persistent session so acks queue at the broker while it is away, and "offline" as last will.
    /// The box broker names the session after the account, whatever id is sent (<see cref="BrokerListeners"/>).
    /// </summary>
    public static MqttClientOptions OptionsFor(DeviceRecord device, string host, int port) => new()
    {
        Host = host,
        Port = port,
        ClientId = BrokerListeners.AccountClientId(device.DeviceId),
        Username = device.DeviceId,
        Password = device.MqttPassword,
        CleanSession = false,
        KeepAliveSeconds = 30,
        LastWill = new MqttLastWill { Topic = Topics.DeviceStatus(device.NumericId), Payload = Offline, Qos = MqttQos.AtLeastOnce, Retain = true },
    };

    /// <summary>Settings for an unclaimed device's anonymous, clean session.</summary>
    public static MqttClientOptions AnonymousOptions(string clientId, string host, int port) => new()
    {
        Host = host,
        Port = port,
        ClientId = clientId,
        CleanSession = true,
        KeepAliveSeconds = 30,
    };

    /// <summary>Starts connecting in the background; once connected, the session reconnects by itself.</summary>
    public void Start() => _connecting = Task.Run(() => ConnectLoopAsync(_stopping.Token));

    public bool Publish(string topic, byte[] payload, bool qos1, int timeoutMs)
    {
        if (!IsConnected)
        {
            return false;
        }

        return Wait(token => _session.PublishAsync(topic, payload, qos1 ? MqttQos.AtLeastOnce : MqttQos.AtMostOnce, false, token), timeoutMs);
    }

    /// <summary>
    /// A call while an earlier one's SUBSCRIBE still awaits its SUBACK waits for that one instead of sending another:
    /// over a link slower than the timeout every SUBACK would otherwise come after its own wait gave up, and an unclaimed
    /// bell, which says hello only once subscribed, would never say it. The SUBSCRIBE is given up on after the client's own
    /// timeout or when the connection ends.
    /// </summary>
    public bool Subscribe(string topicFilter, int timeoutMs)
    {
        if (!IsConnected)
        {
            return false;
        }

        Task subscribing;
        lock (_subscribing)
        {
            if (_subscribing.TryGetValue(topicFilter, out Task? earlier) && !earlier.IsCompleted)
            {
                subscribing = earlier;
            }
            else
            {
                // A failure nobody waited for any more is seen here; the filter is asked for again.
                _ = earlier?.Exception;
                subscribing = _session.SubscribeAsync(topicFilter, MqttQos.AtLeastOnce, OnMessageAsync, _stopping.Token);
                _subscribing[topicFilter] = subscribing;
            }
        }

        try
        {
            return subscribing.Wait(timeoutMs);
        }
        catch (AggregateException)
        {
            return false;
        }
    }

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

        _session.StateChanged -= OnStateChanged;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            // A clean disconnect suppresses the will, so say "offline" first.
            if (IsConnected && _announcesStatus)
            {
                await _session.PublishAsync(_statusTopic, Offline, MqttQos.AtLeastOnce, true, timeout.Token);
            }
        }
        catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException)
        {
            // Shutting down either way; the broker publishes the will if the goodbye was lost.
        }

        await _session.DisposeAsync();
        _stopping.Dispose();
    }

    // The broker's answer reaches this wait through one thread-pool hop inside the MQTT client. With the
    // pool starved the call times out although the broker has the message; the bell then resends it,
    // and the gateway drops the duplicate counter.
    private static bool Wait(Func<CancellationToken, Task> operation, int timeoutMs)
    {
        using var timeout = new CancellationTokenSource(timeoutMs);
        try
        {
            if (operation(timeout.Token).Wait(timeoutMs))
            {
                return true;
            }

            // Given up on: cancelled, not left running until the client's own timeout (disposing the source would
            // stop its timer before it fires); the bell sends the message again itself.
            timeout.Cancel();
            return false;
        }
        catch (AggregateException)
        {
            return false;
        }
        catch (MqttTransportException)
        {
            return false;
        }
    }

    private async Task ConnectLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                // Each call after a failure first waits the session's jittered backoff.
                await _session.ConnectAsync(stopping);
                return;
            }
            catch (MqttTransportException ex)
            {
                LastError = ex.Message;
            }
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

        // Not inside the session's state report: awaiting the PUBACK there would stall it.
        _ = Task.Run(async () =>
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _session.PublishAsync(_statusTopic, Online, MqttQos.AtLeastOnce, true, timeout.Token);
            }
            catch (Exception ex) when (ex is MqttTransportException or OperationCanceledException)
            {
                LastError = ex.Message;
            }
        });
    }

    private Task OnMessageAsync(MqttMessage message, CancellationToken cancellationToken)
    {
        MessageReceived?.Invoke(message.Topic, message.Payload);
        return Task.CompletedTask;
    }
}
