using Anshimi.CloudBridge.Upstreams;
using Anshimi.Testing;

namespace Anshimi.CloudBridge.Tests.Upstreams;

/// <summary>Every configured receiver gets every alarm at least once, and one that is down holds up no other.</summary>
[Trait("Category", "Integration")]
public sealed class UpstreamIsolationTests
{
    private const string Secret = "webhook-shared-secret-0123456789";

    [Fact]
    public async Task A_receiver_that_is_down_does_not_hold_up_the_others_and_gets_every_alarm_when_it_is_up()
    {
        await using Dc09TestReceiver downStation = await Dc09TestReceiver.CreateDownAsync();
        await using var upStation = new Dc09TestReceiver();
        upStation.Start();
        await using WebhookTestReceiver webhook = await WebhookTestReceiver.StartAsync(Secret);
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings()
            .Dc09("station-down", downStation.Port)
            .Dc09("station-up", upStation.Port)
            .Webhook("hook", webhook.Url, Secret).Values);

        for (uint counter = 1; counter <= 5; counter++)
        {
            await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x77, counter));
        }

        await Eventually.HoldsAsync(() => upStation.Accepted.Count == 5 && webhook.Requests.Count == 5, "the healthy receivers have all five");
        await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(host, "station-down")).State == UpstreamState.Retrying, "the receiver that is down is being retried");
        Assert.Equal(5, (await UpstreamApi.StatusAsync(host, "station-down")).Pending);
        Assert.Equal(0, downStation.FramesReceived);

        downStation.Start();
        await Eventually.HoldsAsync(() => downStation.Accepted.Count == 5, "the recovered receiver has all five");

        string[] keys = ["00000077:1", "00000077:2", "00000077:3", "00000077:4", "00000077:5"];
        Assert.Equal(keys, webhook.Requests.Select(r => r.IdempotencyKey));
        Assert.Equal([1, 2, 3, 4, 5], downStation.Accepted.Select(m => m.Sequence));
        Assert.Equal([1, 2, 3, 4, 5], upStation.Accepted.Select(m => m.Sequence));
        Assert.Empty(downStation.SequenceErrors);
    }
}
