using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Hosting;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Upstreams;
using Anshimi.Mqtt;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// An acknowledgement acknowledged on instance A and claimed by A's outbox: instance B's outbox is told it is due when
/// A's claim runs out (not at once, which would spin), and then B takes it, as it must when A died after claiming. With
/// instance leases, a dead A's claims pass to B when A's liveness row runs out, seconds after A's last renewal, and a live
/// A keeps them.
/// </summary>
[Trait("Category", "HighAvailability")]
[Trait("Category", "Storage")]
public sealed class AckClaimAcrossInstancesTests : IAsyncLifetime
{
    private TestStorage _storage = null!;

    public async Task InitializeAsync() => _storage = await TestStorage.CreateAsync(StorageProvider.PostgreSql);

    public async Task DisposeAsync() => await _storage.DisposeAsync();

    [Fact]
    public async Task An_ack_claimed_by_A_is_due_for_B_when_the_claim_runs_out_and_B_then_takes_it()
    {
        var a = new AlarmStore(_storage.Open(StoreFile.Alarms));
        var b = new AlarmStore(_storage.Open(StoreFile.Alarms));
        AlarmEnvelope alarm = TestAlarms.Alarm(0xA7, 1);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        await a.StoreAlarmAsync(alarm, alarm.Key, new SiteArea("11680", "1168064000"), now, CancellationToken.None);
        await a.ApplyOperatorActionAsync(alarm.Key, AlarmState.Acknowledged, "kim", now, CancellationToken.None);

        TimeSpan hold = TimeSpan.FromMinutes(3);
        Assert.Single(await a.ClaimDueAcksAsync("a", now.AddSeconds(1), now, hold, 20, CancellationToken.None));

        DateTimeOffset? dueForB = await b.NextAckDueAsync(CancellationToken.None);
        Assert.Equal((now + hold).ToUnixTimeMilliseconds(), dueForB?.ToUnixTimeMilliseconds());
        Assert.Empty(await b.ClaimDueAcksAsync("b", now.AddSeconds(1), now.AddSeconds(1), hold, 20, CancellationToken.None));

        DateTimeOffset afterClaim = now + hold + TimeSpan.FromMilliseconds(1);
        PendingAck taken = Assert.Single(await b.ClaimDueAcksAsync("b", afterClaim, afterClaim, hold, 20, CancellationToken.None));
        Assert.Equal((alarm.Key, AlarmState.Acknowledged), (taken.Key, taken.Stage));
    }

    [Fact]
    public async Task An_ack_claimed_by_A_passes_to_B_when_A_stops_renewing_its_lease_not_when_the_claim_runs_out()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        StoreDatabase alarmFileOfA = _storage.Open(StoreFile.Alarms);
        var a = new AlarmStore(alarmFileOfA);
        var b = new AlarmStore(_storage.Open(StoreFile.Alarms));
        AlarmEnvelope alarm = TestAlarms.Alarm(0xA8, 1);
        DateTimeOffset now = clock.GetUtcNow();
        await a.StoreAlarmAsync(alarm, alarm.Key, new SiteArea("11680", "1168064000"), now, CancellationToken.None);
        await a.ApplyOperatorActionAsync(alarm.Key, AlarmState.Acknowledged, "kim", now, CancellationToken.None);

        // A takes its lease (5 s), claims the ack for three minutes, and then dies: its lease is never renewed.
        using InstanceLease leaseOfA = Lease(alarmFileOfA, "a", clock);
        await leaseOfA.StartAsync(CancellationToken.None);
        TimeSpan hold = TimeSpan.FromMinutes(3);
        Assert.Single(await a.ClaimDueAcksAsync("a", now.AddSeconds(1), now, hold, 20, CancellationToken.None));

        DateTimeOffset? dueForB = await b.NextAckDueAsync(CancellationToken.None);
        Assert.Equal((now + TimeSpan.FromSeconds(5)).ToUnixTimeMilliseconds(), dueForB?.ToUnixTimeMilliseconds());
        DateTimeOffset whileAlive = now.AddSeconds(4);
        Assert.Empty(await b.ClaimDueAcksAsync("b", whileAlive, whileAlive, hold, 20, CancellationToken.None));

        DateTimeOffset afterLease = now.AddSeconds(5);
        PendingAck taken = Assert.Single(await b.ClaimDueAcksAsync("b", afterLease, afterLease, hold, 20, CancellationToken.None));
        Assert.Equal((alarm.Key, AlarmState.Acknowledged), (taken.Key, taken.Stage));
        Assert.Equal(TimeSpan.FromSeconds(1), leaseOfA.Remaining(now.AddSeconds(4)));
        Assert.Equal(TimeSpan.Zero, leaseOfA.Remaining(afterLease));
    }

    [Fact]
    public async Task A_live_instance_keeps_its_claimed_ack_and_upstream_delivery_while_it_renews_its_lease()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        StoreDatabase alarmFileOfA = _storage.Open(StoreFile.Alarms);
        var a = new AlarmStore(alarmFileOfA, [new UpstreamOutboxHook(["receiver"], new UpstreamWake())]);
        var b = new AlarmStore(_storage.Open(StoreFile.Alarms));
        AlarmEnvelope alarm = TestAlarms.Alarm(0xA9, 1);
        DateTimeOffset now = clock.GetUtcNow();
        await a.StoreAlarmAsync(alarm, alarm.Key, new SiteArea("11680", "1168064000"), now, CancellationToken.None);
        await a.ApplyOperatorActionAsync(alarm.Key, AlarmState.Acknowledged, "kim", now, CancellationToken.None);

        using InstanceLease leaseOfA = Lease(alarmFileOfA, "a", clock);
        await leaseOfA.StartAsync(CancellationToken.None);
        var deliveriesOfA = new UpstreamDeliveryStore(a, clock, "a");
        var deliveriesOfB = new UpstreamDeliveryStore(b, clock, "b");
        Assert.NotNull(await deliveriesOfA.NextPendingAsync("receiver", new HashSet<string>(), CancellationToken.None));
        Assert.Single(await a.ClaimDueAcksAsync("a", now.AddSeconds(1), now, TimeSpan.FromMinutes(3), 20, CancellationToken.None));

        // Twenty seconds of A renewing every second: B takes neither.
        for (int second = 1; second <= 20; second++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Eventually.HoldsAsync(() => leaseOfA.Remaining(clock.GetUtcNow()) > TimeSpan.FromSeconds(4), "A's lease renewed");
            DateTimeOffset at = clock.GetUtcNow();
            Assert.Empty(await b.ClaimDueAcksAsync("b", at, at, TimeSpan.FromMinutes(3), 20, CancellationToken.None));
            Assert.Null(await deliveriesOfB.NextPendingAsync("receiver", new HashSet<string>(), CancellationToken.None));
        }

        // A dies (its renewals stop, nothing handed over): five seconds after its last renewal B has both.
        leaseOfA.Dispose();
        clock.Advance(TimeSpan.FromSeconds(5));
        DateTimeOffset after = clock.GetUtcNow();
        Assert.Single(await b.ClaimDueAcksAsync("b", after, after, TimeSpan.FromMinutes(3), 20, CancellationToken.None));
        Assert.NotNull(await deliveriesOfB.NextPendingAsync("receiver", new HashSet<string>(), CancellationToken.None));
    }

    private static InstanceLease Lease(StoreDatabase alarmFile, string instance, TimeProvider clock) => new(
        alarmFile,
        Options.Create(new CloudBridgeOptions { InstanceLease = TimeSpan.FromSeconds(5) }),
        Options.Create(new MqttClientOptions { ClientId = instance }),
        clock,
        NullLogger<InstanceLease>.Instance);
}
