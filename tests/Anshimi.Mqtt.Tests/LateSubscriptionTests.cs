using System.Collections.Concurrent;
using Anshimi.Mqtt;

namespace Anshimi.Mqtt.Tests;

/// <summary>
/// A filter registered with <see cref="MqttSession.AddSubscription"/> after connecting began ends up subscribed at the
/// broker: one registered while a connect attempt is subscribing is taken by that attempt, and one whose SUBACK does not
/// come on a live connection is asked for again. Either way, without it a gateway would route hellos from a subscription the
/// broker never had (a hosted service registering its filter while another one connects the shared session).
/// </summary>
public sealed class LateSubscriptionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_filter_added_while_a_connect_attempt_subscribes_is_subscribed_before_the_session_reports_Connected()
    {
        var transport = new ScriptedTransport();
        TaskCompletionSource uplinksSuback = transport.HoldSuback("anshimi/v1/d/+/up");
        await using var session = new MqttSession(transport, new MqttClientOptions { Host = "box", ClientId = "gw-late" });
        string[]? grantedWhenConnected = null;
        session.StateChanged += (_, e) =>
        {
            if (e.State == MqttConnectionState.Connected)
            {
                grantedWhenConnected = [.. transport.Granted];
            }
        };
        session.AddSubscription("anshimi/v1/d/+/up", MqttQos.AtLeastOnce, Ignore);

        Task connecting = session.ConnectAsync(CancellationToken.None);
        await transport.Asked("anshimi/v1/d/+/up").WaitAsync(Patience);
        session.AddSubscription("anshimi/v1/prov/+/hello", MqttQos.AtMostOnce, Ignore);
        uplinksSuback.SetResult();
        await connecting.WaitAsync(Patience);

        Assert.NotNull(grantedWhenConnected);
        Assert.Equal(["anshimi/v1/d/+/up", "anshimi/v1/prov/+/hello"], grantedWhenConnected);
    }

    [Fact]
    public async Task A_filter_added_on_a_live_connection_is_asked_for_again_when_its_SUBACK_does_not_come()
    {
        var transport = new ScriptedTransport();
        transport.FailFirstSubscribe("anshimi/v1/prov/+/hello", new MqttTimeoutException("subscribe to 'anshimi/v1/prov/+/hello': the broker did not answer in time"));
        var diagnostics = new ConcurrentQueue<string>();
        await using var session = new MqttSession(transport, new MqttClientOptions { Host = "box", ClientId = "gw-late" }, diagnostics.Enqueue);
        await session.ConnectAsync(CancellationToken.None);

        session.AddSubscription("anshimi/v1/prov/+/hello", MqttQos.AtMostOnce, Ignore);

        await transport.Granting("anshimi/v1/prov/+/hello").WaitAsync(Patience);
        Assert.Equal(2, transport.Attempts("anshimi/v1/prov/+/hello"));
        Assert.Contains(diagnostics, d => d.Contains("did not answer in time; asking again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_filter_added_on_a_live_connection_is_not_asked_for_again_on_that_connection()
    {
        var transport = new ScriptedTransport();
        transport.FailFirstSubscribe("anshimi/v1/d/0000B001/up", new MqttSubscriptionRefusedException("anshimi/v1/d/0000B001/up", "the broker refused the subscription to 'anshimi/v1/d/0000B001/up'"));
        var diagnostics = new ConcurrentQueue<string>();
        await using var session = new MqttSession(transport, new MqttClientOptions { Host = "box", ClientId = "gw-late" }, diagnostics.Enqueue);
        await session.ConnectAsync(CancellationToken.None);

        session.AddSubscription("anshimi/v1/d/0000B001/up", MqttQos.AtLeastOnce, Ignore);

        await WaitUntilAsync(() => diagnostics.Any(d => d.Contains("refused the subscription", StringComparison.Ordinal)));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(1, transport.Attempts("anshimi/v1/d/0000B001/up"));
    }

    private static Task Ignore(MqttMessage message, CancellationToken cancellationToken) => Task.CompletedTask;

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(Patience);
        while (!condition())
        {
            await Task.Delay(20, deadline.Token);
        }
    }

    /// <summary>Connects at once; SUBSCRIBEs are granted unless the test holds a filter's SUBACK or fails its first attempt.</summary>
    private sealed class ScriptedTransport : IMqttTransport
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _held = new();
        private readonly ConcurrentDictionary<string, MqttTransportException> _firstFailure = new();
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _asked = new();
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _granted = new();
        private readonly ConcurrentDictionary<string, int> _attempts = new();
        private readonly ConcurrentQueue<string> _grantedOrder = new();

        // This connection is never lost.
        public event EventHandler<string>? ConnectionLost
        {
            add { }
            remove { }
        }

        public bool IsConnected { get; private set; }

        public Func<MqttMessage, Task>? MessageReceived { get; set; }

        /// <summary>Filters the broker granted, in the order it granted them.</summary>
        public IEnumerable<string> Granted => _grantedOrder;

        public TaskCompletionSource HoldSuback(string topicFilter) => _held.GetOrAdd(topicFilter, _ => NewSignal());

        public void FailFirstSubscribe(string topicFilter, MqttTransportException failure) => _firstFailure[topicFilter] = failure;

        public Task Asked(string topicFilter) => _asked.GetOrAdd(topicFilter, _ => NewSignal()).Task;

        public Task Granting(string topicFilter) => _granted.GetOrAdd(topicFilter, _ => NewSignal()).Task;

        public int Attempts(string topicFilter) => _attempts.GetValueOrDefault(topicFilter);

        public Task<bool> ConnectAsync(MqttEndpoint endpoint, CancellationToken cancellationToken)
        {
            IsConnected = true;
            return Task.FromResult(false);
        }

        public async Task SubscribeAsync(string topicFilter, MqttQos qos, CancellationToken cancellationToken)
        {
            _attempts.AddOrUpdate(topicFilter, 1, (_, n) => n + 1);
            _asked.GetOrAdd(topicFilter, _ => NewSignal()).TrySetResult();
            if (_firstFailure.TryRemove(topicFilter, out MqttTransportException? failure))
            {
                throw failure;
            }

            if (_held.TryGetValue(topicFilter, out TaskCompletionSource? held))
            {
                await held.Task.WaitAsync(cancellationToken);
            }

            _grantedOrder.Enqueue(topicFilter);
            _granted.GetOrAdd(topicFilter, _ => NewSignal()).TrySetResult();
        }

        public Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos, bool retain, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DisconnectAsync(CancellationToken cancellationToken)
        {
            IsConnected = false;
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
