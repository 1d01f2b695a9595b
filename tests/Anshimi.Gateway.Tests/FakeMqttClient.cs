using System.Text;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Tests;

/// <summary>
/// An in-memory broker connection under the gateway's real <see cref="MqttSession"/>: records
/// publishes and subscriptions, can refuse publishes, deliver messages and drop the connection.
/// </summary>
public sealed class FakeMqttClient : IMqttTransport, IMqttTransportFactory
{
    private readonly Lock _lock = new();
    private readonly List<PublishedMessage> _published = [];
    private readonly List<string> _subscriptions = [];
    private volatile bool _reachable = true;
    private volatile bool _closed;
    private int _connects;

    public event EventHandler<string>? ConnectionLost;

    public Func<MqttMessage, Task>? MessageReceived { get; set; }

    public bool IsConnected { get; private set; }

    /// <summary>Connected, Closed after the session disconnected, otherwise Disconnected.</summary>
    public MqttConnectionState State => _closed ? MqttConnectionState.Closed : IsConnected ? MqttConnectionState.Connected : MqttConnectionState.Disconnected;

    /// <summary>How many times the session connected.</summary>
    public int Connects => Volatile.Read(ref _connects);

    /// <summary>While true every publish throws, as a client does while the broker is unreachable.</summary>
    public bool RefusePublishes { get; set; }

    /// <summary>While set, every publish waits for it (or its cancellation), as over a connection to a broker that answers nothing.</summary>
    public TaskCompletionSource? PublishGate { get; set; }

    /// <summary>Runs before a publish is recorded, e.g. to look at the database at that instant.</summary>
    public Action<PublishedMessage>? BeforePublish { get; set; }

    public IReadOnlyList<PublishedMessage> Published
    {
        get
        {
            lock (_lock)
            {
                return [.. _published];
            }
        }
    }

    public IReadOnlyList<string> Subscriptions
    {
        get
        {
            lock (_lock)
            {
                return [.. _subscriptions];
            }
        }
    }

    public IReadOnlyList<PublishedMessage> PublishedTo(string topic) => [.. Published.Where(m => m.Topic == topic)];

    public void Clear()
    {
        lock (_lock)
        {
            _published.Clear();
        }
    }

    /// <summary>
    /// Reconnecting (or Disconnected): the connection drops and the broker stays away. Connected: the broker
    /// is back; a live connection drops first, so the session goes through a reconnect.
    /// </summary>
    public void SetState(MqttConnectionState state, string reason)
    {
        _reachable = state == MqttConnectionState.Connected;
        if (IsConnected)
        {
            IsConnected = false;
            ConnectionLost?.Invoke(this, reason);
        }
    }

    public void Deliver(string topic, byte[] payload) =>
        MessageReceived?.Invoke(new MqttMessage(topic, payload, MqttQos.AtLeastOnce, retain: false)).GetAwaiter().GetResult();

    public IMqttTransport Create(MqttClientOptions options) => this;

    public Task<bool> ConnectAsync(MqttEndpoint endpoint, CancellationToken cancellationToken)
    {
        if (!_reachable)
        {
            throw new MqttTransportException("connect failed: Connection refused");
        }

        _closed = false;
        IsConnected = true;
        Interlocked.Increment(ref _connects);
        return Task.FromResult(false);
    }

    public Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken)
    {
        if (RefusePublishes)
        {
            throw new MqttNotConnectedException("not connected");
        }

        if (PublishGate is { } gate)
        {
            return PublishAfterAsync(gate.Task, topic, payload.ToArray(), qos, retain, cancellationToken);
        }

        Record(topic, payload, qos, retain);
        return Task.CompletedTask;
    }

    private async Task PublishAfterAsync(Task gate, string topic, byte[] payload, MqttQos qos, bool retain, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        Record(topic, payload, qos, retain);
    }

    private void Record(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain)
    {
        var message = new PublishedMessage(topic, payload.ToArray(), qos, retain);
        BeforePublish?.Invoke(message);
        lock (_lock)
        {
            _published.Add(message);
        }
    }

    public Task SubscribeAsync(string topicFilter, MqttQos qos, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _subscriptions.Add(topicFilter);
        }

        return Task.CompletedTask;
    }

    public Task DisconnectAsync(CancellationToken cancellationToken)
    {
        IsConnected = false;
        _closed = true;
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

public sealed record PublishedMessage(string Topic, byte[] Payload, MqttQos Qos, bool Retain)
{
    /// <summary>The payload as an upstream envelope; fails the test, showing the payload, when it is not one.</summary>
    public Envelope ParseEnvelope()
    {
        Assert.True(EnvelopeSerializer.TryParse(Payload, out Envelope? envelope, out string error), error + ": " + Encoding.UTF8.GetString(Payload));
        return envelope!;
    }
}
