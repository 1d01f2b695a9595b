using Anshimi.Testing;

namespace Anshimi.Mqtt.Tests;

/// <summary>One process holds more sessions than a select(2)-based client could (descriptors past 1024).</summary>
[Trait("Category", "Integration")]
public sealed class ScaleTests
{
    private const int Sessions = 1_100;

    [Fact]
    public async Task More_than_a_thousand_sessions_in_one_process_all_connect_and_receive()
    {
        await using var broker = await TestBroker.StartAsync(persistence: false);
        var sessions = new MqttSession[Sessions];
        int received = 0;
        try
        {
            for (int batch = 0; batch < Sessions; batch += 100)
            {
                await Task.WhenAll(Enumerable.Range(batch, Math.Min(100, Sessions - batch)).Select(async i =>
                {
                    MqttClientOptions options = broker.ClientOptions(TestBroker.Device);
                    options.CleanSession = true;
                    sessions[i] = MqttSession.Create(options);
                    sessions[i].AddSubscription("scale/all", MqttQos.AtMostOnce, (_, _) =>
                    {
                        Interlocked.Increment(ref received);
                        return Task.CompletedTask;
                    });
                    await sessions[i].ConnectAsync(CancellationToken.None);
                }));
            }

            await TestBroker.PublishWithCliAsync(broker, "scale/all", [1]);

            using var timeout = new CancellationTokenSource(TestBroker.Wait);
            while (Volatile.Read(ref received) < Sessions)
            {
                await Task.Delay(50, timeout.Token);
            }

            Assert.All(sessions, s => Assert.Equal(MqttConnectionState.Connected, s.State));
        }
        finally
        {
            await Task.WhenAll(sessions.Where(s => s is not null).Select(s => s.DisposeAsync().AsTask()));
        }
    }
}
