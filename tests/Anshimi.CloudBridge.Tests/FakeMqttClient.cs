using System.Collections.Concurrent;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests;

/// <summary>An in-memory broker connection: records publishes and lets a test deliver messages.</summary>
public sealed class FakeMqttClient : IMqttClient
{
    private readonly ConcurrentQueue<(string Topic, byte[] Payload)> _published = new();

    public event EventHandler<MqttStateChangedEventArgs>? StateChanged;

    public event EventHandler<MqttMessageReceivedEventArgs>? MessageReceived;

    public MqttConnectionState State { get; private set; } = MqttConnectionState.Disconnected;

    public ConcurrentBag<string> Subscriptions { get; } = [];

    /// <summary>When set, publishing fails as it does while the broker is unreachable.</summary>
    public bool FailPublishes { get; set; }

    public IReadOnlyList<(string Topic, Envelope Envelope)> Published =>
        _published.Select(p => (p.Topic, Parse(p.Payload))).ToList();

    public Task ConnectAsync(CancellationToken cancellationToken)
    {
        SetState(MqttConnectionState.Connected);
        return Task.CompletedTask;
    }

    public Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken)
    {
        if (FailPublishes)
        {
            throw new MqttException("not connected", 4);
        }

        _published.Enqueue((topic, payload.ToArray()));
        return Task.CompletedTask;
    }

    public Task SubscribeAsync(string topicFilter, MqttQos qos, CancellationToken cancellationToken)
    {
        Subscriptions.Add(topicFilter);
        return Task.CompletedTask;
    }

    public Task DisconnectAsync(CancellationToken cancellationToken)
    {
        SetState(MqttConnectionState.Closed);
        return Task.CompletedTask;
    }

    public void Deliver(string topic, byte[] payload) =>
        MessageReceived?.Invoke(this, new MqttMessageReceivedEventArgs(topic, payload, MqttQos.AtLeastOnce, false));

    public void Deliver(string topic, Envelope envelope) => Deliver(topic, EnvelopeSerializer.Serialize(envelope));

    public void SetState(MqttConnectionState state)
    {
        State = state;
        StateChanged?.Invoke(this, new MqttStateChangedEventArgs(state, "test"));
    }

    public IReadOnlyList<T> PublishedOf<T>(string topic)
        where T : Envelope => Published.Where(p => p.Topic == topic).Select(p => p.Envelope).OfType<T>().ToList();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static Envelope Parse(byte[] payload) =>
        EnvelopeSerializer.TryParse(payload, out Envelope? envelope, out string error) ? envelope! : throw new InvalidOperationException(error);
}
