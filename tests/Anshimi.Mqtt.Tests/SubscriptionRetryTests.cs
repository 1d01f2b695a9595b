using System.Collections.Concurrent;
using Anshimi.Mqtt;

namespace Anshimi.Mqtt.Tests;

/// <summary>
/// A device retries a subscription whose wait timed out (protocol/README.md §9: an unclaimed bell subscribes to its
/// credentials topic every tick until a SUBACK comes): the retry shares the first call's registration, so the first
/// call failing late with the client's own timeout must not remove the route the retry's SUBACK made.
/// </summary>
public sealed class SubscriptionRetryTests
{
    private const string Filter = "anshimi/v1/prov/0000B021/creds";

    [Fact]
    public async Task A_retried_subscription_keeps_its_route_when_the_earlier_attempt_fails_late()
    {
        var transport = new SlowSubackTransport();
        var options = new MqttClientOptions { Host = "box", ClientId = "unclaimed-0000B021" };
        await using var session = new MqttSession(transport, options);
        await session.ConnectAsync(CancellationToken.None);
        var received = new ConcurrentQueue<string>();
        Task Handler(MqttMessage message, CancellationToken cancellationToken)
        {
            received.Enqueue(message.Topic);
            return Task.CompletedTask;
        }

        // The first attempt's SUBACK is late; the device stops waiting and tries again, and that one is answered.
        Task first = session.SubscribeAsync(Filter, MqttQos.AtLeastOnce, Handler, CancellationToken.None);
        await session.SubscribeAsync(Filter, MqttQos.AtLeastOnce, Handler, CancellationToken.None);

        // Then the client's own timeout ends the first attempt.
        transport.FailFirst(new MqttTimeoutException("subscribe to '" + Filter + "': the broker did not answer in time"));
        await Assert.ThrowsAsync<MqttTimeoutException>(() => first);

        await transport.DeliverAsync(Filter, [1, 2, 3]);
        Assert.Equal([Filter], received);
    }

    [Fact]
    public async Task A_first_subscription_that_fails_is_not_kept()
    {
        var transport = new SlowSubackTransport();
        var options = new MqttClientOptions { Host = "box", ClientId = "unclaimed-0000B022" };
        await using var session = new MqttSession(transport, options);
        await session.ConnectAsync(CancellationToken.None);
        var received = new ConcurrentQueue<string>();

        Task first = session.SubscribeAsync(Filter, MqttQos.AtLeastOnce, (m, _) => { received.Enqueue(m.Topic); return Task.CompletedTask; }, CancellationToken.None);
        transport.FailFirst(new MqttTimeoutException("no SUBACK"));
        await Assert.ThrowsAsync<MqttTimeoutException>(() => first);

        await transport.DeliverAsync(Filter, [1]);
        Assert.Empty(received);
    }

    /// <summary>Connects at once; the first SUBSCRIBE waits until told how it ends, every later one is acknowledged.</summary>
    private sealed class SlowSubackTransport : IMqttTransport
    {
        private readonly TaskCompletionSource _firstSuback = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _subscribes;

        public event EventHandler<string>? ConnectionLost;

        public bool IsConnected { get; private set; }

        public Func<MqttMessage, Task>? MessageReceived { get; set; }

        public Task<bool> ConnectAsync(MqttEndpoint endpoint, CancellationToken cancellationToken)
        {
            IsConnected = true;
            return Task.FromResult(false);
        }

        public Task SubscribeAsync(string topicFilter, MqttQos qos, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _subscribes) == 1 ? _firstSuback.Task : Task.CompletedTask;

        public void FailFirst(MqttTransportException failure) => _firstSuback.SetException(failure);

        public Task DeliverAsync(string topic, byte[] payload) =>
            MessageReceived!(new MqttMessage(topic, payload, MqttQos.AtLeastOnce, false));

        public Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DisconnectAsync(CancellationToken cancellationToken)
        {
            IsConnected = false;
            ConnectionLost?.Invoke(this, "disconnected");
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
