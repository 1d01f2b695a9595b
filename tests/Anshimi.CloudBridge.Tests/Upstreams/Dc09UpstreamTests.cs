using Anshimi.AlarmReceivers.Dc09;
using Anshimi.CloudBridge.Upstreams;
using Anshimi.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Upstreams;

/// <summary>The cloud bridge delivering stored alarms to a real DC-09 receiver on a TCP port.</summary>
[Trait("Category", "Integration")]
public sealed class Dc09UpstreamTests
{
    private const string Receiver = "central-station";

    [Fact]
    public async Task A_stored_alarm_reaches_the_receiver_once_under_its_district_account_and_a_gateway_resend_sends_nothing_more()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Dc09(Receiver, receiver.Port).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0xA1, 1, TestAlarms.GangnamGuOffice));
        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0xA2, 1, TestAlarms.SeoulCityHall));
        await Eventually.HoldsAsync(() => receiver.Accepted.Count == 2, "both alarms ACKed");
        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0xA1, 1, TestAlarms.GangnamGuOffice));
        await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(host, Receiver)).Delivered == 2, "status shows two delivered");

        Assert.Equal(["#1168|1120 01 001", "#1114|1120 01 001"], receiver.Accepted.Select(m => m.Data));
        Assert.Equal([1, 2], receiver.Accepted.Select(m => m.Sequence));
        Assert.Equal(2, receiver.FramesReceived);
        Assert.Empty(receiver.Rejections);
        Assert.Empty(receiver.SequenceErrors);
        UpstreamStatusView status = await UpstreamApi.StatusAsync(host, Receiver);
        Assert.Equal((UpstreamState.Idle, 0L, 0L), (status.State, status.Pending, status.Held));
        Assert.StartsWith("connected", status.Link, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_site_account_wins_over_its_district_and_a_test_alarm_arrives_as_a_601_test_report()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Dc09(Receiver, receiver.Port).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x00C0FFEE, 4, TestAlarms.GangnamGuOffice));
        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0xB1, 1, TestAlarms.GangnamGuOffice) with { Test = true });
        await Eventually.HoldsAsync(() => receiver.Accepted.Count == 2, "both ACKed");

        Assert.Equal(["#5001|1120 01 001", "#1168|1601 01 001"], receiver.Accepted.Select(m => m.Data));
    }

    [Fact]
    public async Task A_NAK_with_the_receivers_clock_corrects_ours_and_the_encrypted_resend_is_accepted()
    {
        const string keyHex = "00112233445566778899AABBCCDDEEFF";

        // The receiver's clock is two minutes ahead: our first timestamp is outside its window.
        await using var receiver = new Dc09TestReceiver(Convert.FromHexString(keyHex), clockSkew: TimeSpan.FromMinutes(2));
        receiver.Start();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Dc09(Receiver, receiver.Port, keyHex).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0xC1, 1));
        await Eventually.HoldsAsync(() => receiver.Accepted.Count == 1, "alarm accepted after the NAK");

        ReceiverRejection rejection = Assert.Single(receiver.Rejections);
        Assert.Equal("Window", rejection.Reason);
        Dc09Message accepted = Assert.Single(receiver.Accepted);
        Assert.True(accepted.Encrypted);
        Assert.Equal(1, accepted.Sequence);
        Assert.InRange(accepted.Timestamp!.Value - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1.5), TimeSpan.FromMinutes(2.5));

        // The receiver counts the message when it sends its ACK; the bridge marks it delivered once that ACK is read.
        await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(host, Receiver)).Delivered == 1, "delivered once the ACK was read");
    }

    [Fact]
    public async Task While_the_receiver_is_down_the_alarm_waits_with_the_reason_shown_and_goes_out_when_it_is_up()
    {
        await using Dc09TestReceiver receiver = await Dc09TestReceiver.CreateDownAsync();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Dc09(Receiver, receiver.Port).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0xD1, 1));
        await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(host, Receiver)).FailedAttemptsSinceStart >= 2, "at least two failed attempts");
        UpstreamStatusView down = await UpstreamApi.StatusAsync(host, Receiver);
        Assert.Equal(UpstreamState.Retrying, down.State);
        Assert.Contains("connect to 127.0.0.1", down.Reason, StringComparison.Ordinal);
        Assert.Equal(1, down.Pending);
        Assert.NotNull(down.NextAttemptAt);
        string metrics = await host.Http.GetStringAsync("/metrics");
        Assert.Equal(0, Prometheus.Value(metrics, $"anshimi_upstream_up{{upstream=\"{Receiver}\",kind=\"dc09\"}}", absent: -1));
        Assert.Equal(1, Prometheus.Value(metrics, $"anshimi_upstream_pending{{upstream=\"{Receiver}\",kind=\"dc09\"}}", absent: -1));

        receiver.Start();
        await Eventually.HoldsAsync(() => receiver.Accepted.Count == 1, "delivered after the receiver came up");
        await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(host, Receiver)).State == UpstreamState.Idle, "idle again");
        (string State, int Attempts, string? LastError)? row = await host.Services.GetRequiredService<UpstreamDeliveryStore>().FindAsync("000000D1:1", Receiver, CancellationToken.None);
        Assert.Equal("delivered", row!.Value.State);
        Assert.True(row.Value.Attempts >= 3, "attempts counted: " + row.Value.Attempts);
    }

    [Fact]
    public async Task Alarms_stored_while_the_receiver_is_down_survive_a_bridge_restart_and_go_out_in_order_with_their_sequence()
    {
        string data = Directory.CreateTempSubdirectory("cloud-upstreams-").FullName;
        try
        {
            await using Dc09TestReceiver receiver = await Dc09TestReceiver.CreateDownAsync();
            Dictionary<string, string?> settings = new UpstreamSettings().Dc09(Receiver, receiver.Port).Values;
            await using (CloudBridgeHost first = await CloudBridgeHost.StartAsync(new FakeMqttClient(), settings, data))
            {
                await first.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0xE1, 1));
                await first.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0xE2, 1));
                await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(first, Receiver)).FailedAttemptsSinceStart >= 1, "a failed attempt");
            }

            receiver.Start();
            await using CloudBridgeHost second = await CloudBridgeHost.StartAsync(new FakeMqttClient(), settings, data);
            await Eventually.HoldsAsync(() => receiver.Accepted.Count == 2, "both delivered by the restarted bridge");

            Assert.Equal([1, 2], receiver.Accepted.Select(m => m.Sequence));
            Assert.Empty(receiver.SequenceErrors);
            Assert.Equal(0, (await UpstreamApi.StatusAsync(second, Receiver)).Pending);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task An_idle_link_is_supervised_with_NULL_messages()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(
            new FakeMqttClient(), new UpstreamSettings().Dc09(Receiver, receiver.Port, supervision: TimeSpan.FromMilliseconds(300)).Values);

        await Eventually.HoldsAsync(() => receiver.Accepted.Count(m => m.Token == Dc09Message.NullToken) >= 2, "two NULL messages");

        Assert.All(receiver.Accepted, m => Assert.Equal(("#9999", 0), ("#" + m.Account, m.Sequence)));
    }
}
