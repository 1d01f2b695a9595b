using Anshimi.AlarmReceivers.Dc09;
using Anshimi.CloudBridge.Upstreams;
using Anshimi.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Upstreams;

/// <summary>
/// What each answer of a DC-09 receiver (a real TCP receiver, <see cref="Dc09TestReceiver"/>) does to a stored alarm on
/// its way out: how many copies the receiver gets, and the delivery's state and reason in the bridge's own store.
/// Only an ACK with the alarm's sequence number settles it; no answer marks it rejected for good.
/// </summary>
[Trait("Category", "Integration")]
[Trait("Category", "HighAvailability")]
public sealed class Dc09ReceiverAnswerTests
{
    private const string Station = "central-station";

    // Longer than a dozen of the test's retry intervals (100–500 ms): a copy that was going to come has come.
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1.5);

    [Fact]
    public async Task An_ACK_settles_the_alarm_after_one_copy()
    {
        await using var receiver = new Dc09TestReceiver();
        receiver.Start();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Dc09(Station, receiver.Port).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x11, 1));
        await Eventually.HoldsAsync(async () => (await RowAsync(host, "00000011:1")).State == DeliveryState.Delivered, "delivered");
        await Task.Delay(Settle);

        Assert.Single(receiver.Received);
        (string state, int attempts, string? reason) = await RowAsync(host, "00000011:1");
        Assert.Equal((DeliveryState.Delivered, 1), (state, attempts));
        Assert.Contains("receiver 1", reason, StringComparison.Ordinal);
        Assert.Contains("1 transmission(s): acknowledged", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ReceiverBehavior.Nak, "NAK; receiver clock")]
    [InlineData(ReceiverBehavior.BareNak, "bare NAK")]
    public async Task A_NAK_framed_or_bare_is_a_transient_fault_retried_with_the_same_sequence_until_an_ACK(ReceiverBehavior nak, string reason)
    {
        await using var receiver = new Dc09TestReceiver { Otherwise = nak };
        receiver.Start();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(
            new FakeMqttClient(), new UpstreamSettings().Dc09(Station, receiver.Port).Dc09Setting("AttemptsPerDelivery", "2").Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x12, 1));
        await Eventually.HoldsAsync(async () => (await RowAsync(host, "00000012:1")).Attempts >= 2, "two rounds of NAKs");

        (string state, _, string? waiting) = await RowAsync(host, "00000012:1");
        Assert.Equal(DeliveryState.Pending, state);
        Assert.Contains(reason, waiting, StringComparison.Ordinal);
        Assert.DoesNotContain("no answer", waiting, StringComparison.Ordinal);
        Assert.Empty(receiver.Accepted);

        receiver.Otherwise = ReceiverBehavior.Ack;
        await Eventually.HoldsAsync(async () => (await RowAsync(host, "00000012:1")).State == DeliveryState.Delivered, "delivered once the receiver ACKs");
        await Task.Delay(Settle);

        // Two transmissions a round (AttemptsPerDelivery), the last round cut short by the ACK.
        (_, int attempts, _) = await RowAsync(host, "00000012:1");
        Assert.InRange(receiver.Received.Count, 2 * (attempts - 1) + 1, 2 * attempts);
        Assert.All(receiver.Received, m => Assert.Equal(1, m.Sequence));
        Assert.Single(receiver.Accepted);
        Assert.Empty(receiver.SequenceErrors);
    }

    [Fact]
    public async Task No_answer_is_a_transient_fault_retried_with_the_same_sequence_until_an_ACK()
    {
        await using var receiver = new Dc09TestReceiver { Otherwise = ReceiverBehavior.Silent };
        receiver.Start();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Dc09(Station, receiver.Port)
            .Dc09Setting("AttemptsPerDelivery", "2").Dc09Setting("AckTimeout", "00:00:00.300").Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x13, 1));
        await Eventually.HoldsAsync(async () => (await RowAsync(host, "00000013:1")).Attempts >= 1, "a round without answers");

        (string state, _, string? waiting) = await RowAsync(host, "00000013:1");
        Assert.Equal(DeliveryState.Pending, state);
        Assert.Contains("no answer within", waiting, StringComparison.Ordinal);
        UpstreamStatusView status = await UpstreamApi.StatusAsync(host, Station);
        Assert.Equal((0L, false), (status.Held, Assert.Single(status.Waiting).Held));

        receiver.Otherwise = ReceiverBehavior.Ack;
        await Eventually.HoldsAsync(async () => (await RowAsync(host, "00000013:1")).State == DeliveryState.Delivered, "delivered once the receiver answers");
        await Task.Delay(Settle);

        (_, int attempts, _) = await RowAsync(host, "00000013:1");
        Assert.InRange(receiver.Received.Count, 2 * (attempts - 1) + 1, 2 * attempts);
        Assert.All(receiver.Received, m => Assert.Equal(1, m.Sequence));
        Assert.Single(receiver.Accepted);
    }

    [Theory]
    [InlineData(ReceiverBehavior.AckUnreadableHeader, "unreadable answer")]
    [InlineData(ReceiverBehavior.AckWrongSequence, "ACK for sequence 0002 while waiting for 0001")]
    public async Task An_answer_that_does_not_settle_the_alarm_is_counted_and_the_alarm_held_pending_after_one_copy(ReceiverBehavior answer, string reason)
    {
        await using var receiver = new Dc09TestReceiver { Otherwise = answer };
        receiver.Start();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Dc09(Station, receiver.Port).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x14, 1));
        await Eventually.HoldsAsync(async () => (await UpstreamApi.StatusAsync(host, Station)).Held == 1, "the alarm held");
        await Task.Delay(Settle);

        Assert.Single(receiver.Received);
        (string state, int attempts, string? held) = await RowAsync(host, "00000014:1");
        Assert.Equal((DeliveryState.Pending, 1), (state, attempts));
        Assert.Contains(reason, held, StringComparison.Ordinal);
        WaitingDeliveryView shown = Assert.Single((await UpstreamApi.StatusAsync(host, Station)).Waiting);
        Assert.Equal(("00000014:1", true), (shown.AlarmKey, shown.Held));
        string metrics = await host.Http.GetStringAsync("/metrics");
        Assert.Equal(1, Prometheus.Value(metrics, $"anshimi_upstream_unreadable_answers_total{{upstream=\"{Station}\",kind=\"dc09\"}}", absent: -1));
        Assert.Equal(1, Prometheus.Value(metrics, $"anshimi_upstream_held{{upstream=\"{Station}\",kind=\"dc09\"}}", absent: -1));
    }

    [Fact]
    public async Task DUH_keeps_the_alarm_pending_with_the_reason_holds_up_nothing_and_a_restart_offers_it_again()
    {
        string data = Directory.CreateTempSubdirectory("cloud-upstreams-").FullName;
        try
        {
            await using var receiver = new Dc09TestReceiver();
            receiver.Start();
            receiver.Script(ReceiverBehavior.Duh);
            Dictionary<string, string?> settings = new UpstreamSettings().Dc09(Station, receiver.Port).Values;
            await using (CloudBridgeHost first = await CloudBridgeHost.StartAsync(new FakeMqttClient(), settings, data))
            {
                await first.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x15, 1));
                await first.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x16, 1));
                await Eventually.HoldsAsync(() => receiver.Accepted.Count == 1, "the second alarm is not held up by the first");
                await Task.Delay(Settle);

                Assert.Equal(2, receiver.Received.Count);
                (string state, int attempts, string? reason) = await RowAsync(first, "00000015:1");
                Assert.Equal((DeliveryState.Pending, 1), (state, attempts));
                Assert.Contains("DUH", reason, StringComparison.Ordinal);
                UpstreamStatusView status = await UpstreamApi.StatusAsync(first, Station);
                Assert.Equal((1L, 1L, 1L), (status.Held, status.Pending, status.Delivered));
                WaitingDeliveryView shown = Assert.Single(status.Waiting);
                Assert.Equal(("00000015:1", true), (shown.AlarmKey, shown.Held));
                Assert.Contains("DUH", shown.Reason, StringComparison.Ordinal);
            }

            // Someone added the account at the receiver and restarted the bridge: the held alarm goes out, once.
            await using CloudBridgeHost second = await CloudBridgeHost.StartAsync(new FakeMqttClient(), settings, data);
            await Eventually.HoldsAsync(async () => (await RowAsync(second, "00000015:1")).State == DeliveryState.Delivered, "delivered after the restart");

            // The held alarm (sequence 0001) went out once more, after the one behind it (0002).
            Assert.Equal([1, 2, 1], receiver.Received.Select(m => m.Sequence));
            Assert.Equal([2, 1], receiver.Accepted.Select(m => m.Sequence));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    [Theory]
    [InlineData(ReceiverBehavior.Duh)]
    [InlineData(ReceiverBehavior.AckUnreadableHeader)]
    public async Task An_alarm_the_first_receiver_cannot_take_goes_to_the_next_with_the_same_sequence(ReceiverBehavior first)
    {
        await using var primary = new Dc09TestReceiver { Otherwise = first };
        primary.Start();
        await using var fallback = new Dc09TestReceiver();
        fallback.Start();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(
            new FakeMqttClient(), new UpstreamSettings().Dc09(Station, primary.Port).Fallback(fallback.Port).Values);

        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x17, 1));
        await Eventually.HoldsAsync(async () => (await RowAsync(host, "00000017:1")).State == DeliveryState.Delivered, "delivered by the fallback");
        await Task.Delay(Settle);

        Assert.Equal(1, Assert.Single(primary.Received).Sequence);
        Dc09Message taken = Assert.Single(fallback.Accepted);
        Assert.Equal((1, "2"), (taken.Sequence, taken.Receiver));
        Assert.Single(fallback.Received);
        (_, int attempts, string? reason) = await RowAsync(host, "00000017:1");
        Assert.Equal(1, attempts);
        Assert.Contains("receiver 2 (127.0.0.1:", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_first_receiver_that_failed_is_tried_after_the_next_for_a_while_and_is_first_again_after_it()
    {
        await using var primary = new Dc09TestReceiver { Otherwise = ReceiverBehavior.Silent };
        primary.Start();
        await using var fallback = new Dc09TestReceiver();
        fallback.Start();
        await using CloudBridgeHost host = await CloudBridgeHost.StartAsync(new FakeMqttClient(), new UpstreamSettings().Dc09(Station, primary.Port)
            .Dc09Setting("AttemptsPerDelivery", "2").Dc09Setting("AckTimeout", "00:00:01").Dc09Setting("FailedReceiverLastFor", "00:00:04")
            .Fallback(fallback.Port).Values);

        // The first receiver is silent: two copies, then the fallback takes it, and the next alarm at once.
        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x18, 1));
        await Eventually.HoldsAsync(() => fallback.Accepted.Count == 1, "the fallback took the first alarm");
        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x18, 2));
        await Eventually.HoldsAsync(() => fallback.Accepted.Count == 2, "the fallback took the second alarm");
        Assert.Equal([1, 1], primary.Received.Select(m => m.Sequence));

        // Once FailedReceiverLastFor has passed, the first receiver is tried first again.
        primary.Otherwise = ReceiverBehavior.Ack;
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        await host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(0x18, 3));
        await Eventually.HoldsAsync(() => primary.Accepted.Count == 1, "the first receiver took the third alarm");
        await Task.Delay(Settle);

        Assert.Equal([1, 1, 3], primary.Received.Select(m => m.Sequence));
        Assert.Equal([1, 2], fallback.Received.Select(m => m.Sequence));
        Assert.Equal(0, (await UpstreamApi.StatusAsync(host, Station)).Pending);
    }

    [Fact]
    public async Task The_bridge_refuses_to_start_with_a_lower_case_account_and_names_the_key()
    {
        Dictionary<string, string?> settings = new UpstreamSettings().Dc09(Station, 12000).Values;
        settings["Upstreams:Dc09:0:AccountsByDistrict:11680"] = "1a2b";

        Microsoft.Extensions.Options.OptionsValidationException error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => CloudBridgeHost.StartAsync(new FakeMqttClient(), settings));

        Assert.Contains("Upstreams:Dc09:0:AccountsByDistrict:11680 must be a DC-09 account of 3–16 upper-case hex digits", error.Message, StringComparison.Ordinal);
    }

    private static async Task<(string State, int Attempts, string? Reason)> RowAsync(CloudBridgeHost host, string key) =>
        await host.Services.GetRequiredService<UpstreamDeliveryStore>().FindAsync(key, Station, CancellationToken.None)
            ?? throw new InvalidOperationException("no delivery row for " + key);
}
