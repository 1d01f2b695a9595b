using System.Text;
using Anshimi.Testing;

namespace Anshimi.Mqtt.Tests;

/// <summary>The cloud's clustered MQTT endpoint, RabbitMQ 3.10 with quorum queues (docs/high-availability.md), started once for the class.</summary>
public sealed class RabbitMqClusterFixture : IAsyncLifetime
{
    public RabbitMqCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await RabbitMqCluster.StartAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[Trait("Category", "HighAvailability")]
public sealed class ClusterFailoverTests(RabbitMqClusterFixture fixture) : IClassFixture<RabbitMqClusterFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private RabbitMqCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task No_QoS1_message_is_lost_while_the_node_both_clients_are_on_is_SIGKILLed_and_restarted()
    {
        var options = new BrokerFailoverTrialOptions { Messages = 150, MessagesPerSecond = 30, KillAfter = 50, DownFor = TimeSpan.FromSeconds(2) };

        BrokerFailoverResult result = await BrokerFailoverTrial.RunAsync(Cluster, node: 0, options);

        Assert.True(result.Lost == 0, result.ToString());
        Assert.Equal(options.Messages, result.Distinct);
        Assert.True(result.SteadyLatencies.Count > 0 && result.LossLatencies.Count > 0, result.ToString());

        // Both clients lost their node and came back on another one, each by itself.
        Assert.InRange(result.PublisherReconnect, TimeSpan.FromTicks(1), Wait);
        Assert.InRange(result.SubscriberReconnect, TimeSpan.FromTicks(1), Wait);
        Assert.True(Cluster.IsRunning(0));
    }

    [Fact]
    public async Task A_persistent_session_whose_node_died_is_resumed_on_the_next_node_with_the_messages_queued_meanwhile()
    {
        const int node = 1;
        string topic = $"anshimi/trial/{Guid.NewGuid():N}";
        string clientId = MosquittoBroker.NewClientId("resume");
        var received = new EventRecorder<string>();
        MqttSubscriptionHandler record = (message, _) =>
        {
            received.Add(Encoding.ASCII.GetString(message.Payload));
            return Task.CompletedTask;
        };
        await using (var before = MqttSession.Create(Cluster.ClientOptions(clientId, node)))
        {
            before.AddSubscription(topic, MqttQos.AtLeastOnce, record);
            await before.ConnectAsync(CancellationToken.None);
            Assert.Equal(Cluster.Endpoints[node], before.Endpoint);
        }

        try
        {
            await Cluster.KillNodeAsync(node);
            await using (var publisher = MqttSession.Create(Cluster.ClientOptions(MosquittoBroker.NewClientId("pub"), node + 1)))
            {
                await publisher.ConnectAsync(CancellationToken.None);
                for (int number = 0; number < 20; number++)
                {
                    await PublishUntilAcknowledgedAsync(publisher, topic, $"queued {number}");
                }
            }

            // Its list still starts at the dead node: the session passes over it and resumes on the next.
            await using var after = MqttSession.Create(Cluster.ClientOptions(clientId, node));
            after.AddSubscription(topic, MqttQos.AtLeastOnce, record);
            await after.ConnectAsync(CancellationToken.None);

            Assert.NotEqual(Cluster.Endpoints[node], after.Endpoint);
            for (int number = 0; number < 20; number++)
            {
                await received.WaitForAsync(text => text == $"queued {number}", Wait);
            }
        }
        finally
        {
            if (!Cluster.IsRunning(node))
            {
                await Cluster.StartNodeAsync(node);
            }
        }
    }

    /// <summary>As an outbox does: the cluster may drop a connection while it settles after losing a node.</summary>
    private static async Task PublishUntilAcknowledgedAsync(MqttSession publisher, string topic, string text)
    {
        using var deadline = new CancellationTokenSource(Wait);
        while (true)
        {
            try
            {
                await publisher.PublishAsync(topic, Encoding.ASCII.GetBytes(text), MqttQos.AtLeastOnce, retain: false, deadline.Token);
                return;
            }
            catch (MqttTransportException) when (!deadline.IsCancellationRequested)
            {
                await Task.Delay(100, deadline.Token);
            }
        }
    }
}
