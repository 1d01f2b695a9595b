using System.Collections.Concurrent;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests;

/// <summary>An in-memory broker connection under the bridge's real <see cref="MqttSession"/>: records publishes and lets a test deliver messages.</summary>
public sealed class FakeMqttClient : IMqttTransport, IMqttTransportFactory
{
    private readonly ConcurrentQueue<(string Topic, byte[] Payload)> _published = new();
    private volatile bool _closed;

    public event EventHandler<string>? ConnectionLost;

    public Func<MqttMessage, Task>? MessageReceived { get; set; }

    public bool IsConnected { get; private set; }

    public MqttConnectionState State => _closed ? MqttConnectionState.Closed : IsConnected ? MqttConnectionState.Connected : MqttConnectionState.Disconnected;

    public ConcurrentBag<string> Subscriptions { get; } = [];

    /// <summary>When set, publishing fails as it does while the broker is unreachable.</summary>
    public bool FailPublishes { get; set; }

    public IReadOnlyList<(string Topic, Envelope Envelope)> Published =>
        _published.Select(p => (p.Topic, Parse(p.Payload))).ToList();

    public IMqttTransport Create(MqttClientOptions options) => this;

    public Task<bool> ConnectAsync(MqttEndpoint endpoint, CancellationToken cancellationToken)
    {
        _closed = false;
        IsConnected = true;
        return Task.FromResult(false);
    }

    public Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken)
    {
        if (FailPublishes)
        {
            throw new MqttNotConnectedException("not connected");
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
        IsConnected = false;
        _closed = true;
        return Task.CompletedTask;
    }

    public void Deliver(string topic, byte[] payload) =>
        MessageReceived?.Invoke(new MqttMessage(topic, payload, MqttQos.AtLeastOnce, false)).GetAwaiter().GetResult();

    public void Deliver(string topic, Envelope envelope) => Deliver(topic, EnvelopeSerializer.Serialize(envelope));

    /// <summary>Drops the connection; the session reconnects by itself.</summary>
    public void DropConnection(string reason)
    {
        if (IsConnected)
        {
            IsConnected = false;
            ConnectionLost?.Invoke(this, reason);
        }
    }

    public IReadOnlyList<T> PublishedOf<T>(string topic)
        where T : Envelope => Published.Where(p => p.Topic == topic).Select(p => p.Envelope).OfType<T>().ToList();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static Envelope Parse(byte[] payload) =>
        EnvelopeSerializer.TryParse(payload, out Envelope? envelope, out string error) ? envelope! : throw new InvalidOperationException(error);
}
