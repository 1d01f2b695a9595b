using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// An acknowledgement acknowledged on instance A and claimed by A's outbox: instance B's outbox is told it is due when
/// A's claim runs out (not at once, which would spin), and then B takes it, as it must when A died after claiming.
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
}
