using System.Text;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Tests;

/// <summary>An in-memory <see cref="IMqttClient"/>: records publishes, can refuse them, can deliver messages.</summary>
public sealed class FakeMqttClient : IMqttClient, IMqttClientFactory
{
    private readonly Lock _lock = new();
    private readonly List<PublishedMessage> _published = [];
    private readonly List<string> _subscriptions = [];

    public event EventHandler<MqttStateChangedEventArgs>? StateChanged;

    public event EventHandler<MqttMessageReceivedEventArgs>? MessageReceived;

    public MqttConnectionState State { get; private set; } = MqttConnectionState.Connected;

    /// <summary>While true every publish throws, as a client does while the broker is unreachable.</summary>
    public bool RefusePublishes { get; set; }

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

    public void SetState(MqttConnectionState state, string reason)
    {
        State = state;
        StateChanged?.Invoke(this, new MqttStateChangedEventArgs(state, reason));
    }

    public void Deliver(string topic, byte[] payload) =>
        MessageReceived?.Invoke(this, new MqttMessageReceivedEventArgs(topic, payload, MqttQos.AtLeastOnce, retain: false));

    public IMqttClient Create(MqttClientOptions options) => this;

    public Task ConnectAsync(CancellationToken cancellationToken)
    {
        SetState(MqttConnectionState.Connected, "connected");
        return Task.CompletedTask;
    }

    public Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken)
    {
        if (RefusePublishes)
        {
            throw new MqttException("not connected", 4);
        }

        var message = new PublishedMessage(topic, payload.ToArray(), qos, retain);
        BeforePublish?.Invoke(message);
        lock (_lock)
        {
            _published.Add(message);
        }

        return Task.CompletedTask;
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
        SetState(MqttConnectionState.Closed, "disconnected by client");
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
