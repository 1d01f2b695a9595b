using System.Collections.Concurrent;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Audit;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// The PostgreSQL server is SIGKILLed (with every backend) in the middle of writes and started again: every write the
/// stores acknowledged is there afterwards, and the same store objects carry on without a restart of their process.
/// </summary>
[Trait("Category", "HighAvailability")]
[Trait("Category", "Storage")]
public sealed class PostgresRestartTests : IAsyncLifetime
{
    private static readonly SiteArea Gangnam = new("11680", "1168064000");

    private PostgresServer _server = null!;
    private TestStorage _storage = null!;

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.StartAsync();
        _storage = await TestStorage.CreateAsync(StorageProvider.PostgreSql, _server);
    }

    public async Task DisposeAsync()
    {
        await _storage.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Every_acknowledged_write_survives_a_server_kill_in_the_middle_and_the_stores_work_again()
    {
        StoreDatabase database = _storage.Open(StoreFile.Alarms);
        var alarms = new AlarmStore(database);
        var audit = new AuditLog(database, TimeProvider.System);
        var acknowledged = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));

        // Four writers, as four gateways' envelopes would arrive: each alarm is acknowledged only once StoreAlarmAsync returns.
        const int PerWriter = 60;
        Task[] writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (uint counter = 1; counter <= PerWriter; counter++)
            {
                AlarmEnvelope alarm = TestAlarms.Alarm(0xC0 + (uint)w, counter);
                await alarms.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, stop.Token);
                await audit.AppendAsync(new AuditEntry("gw", AuditAction.SignIn, alarm.Key, "11680", AuditOutcome.Done, ""), stop.Token);
                acknowledged.Add(alarm.Key);
                await Task.Delay(10, stop.Token);
            }
        })).ToArray();

        await WaitUntilAsync(() => acknowledged.Count >= 20, stop.Token);
        await _server.KillAsync(stop.Token);
        int atKill = acknowledged.Count;
        await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
        await _server.RestartAsync(stop.Token);
        await Task.WhenAll(writers);

        Assert.InRange(atKill, 20, 4 * PerWriter - 1);
        Assert.Equal(4 * PerWriter, acknowledged.Count);
        Assert.Equal(4 * PerWriter, await alarms.CountAsync(CancellationToken.None));
        foreach (string key in acknowledged)
        {
            Assert.NotNull(await alarms.FindAsync(key, CancellationToken.None));
        }

        AuditVerification chain = await audit.VerifyAsync(CancellationToken.None);
        Assert.True(chain.Intact, chain.Problem);

        // A write whose commit reached the disk just before the kill may be appended again by its retry: never fewer.
        Assert.InRange(chain.RowsVerified, 4 * PerWriter, 4 * PerWriter + 4);
    }

    [Fact]
    public async Task A_store_opened_while_the_server_is_down_waits_for_it_within_the_retry_time()
    {
        var alarms = new AlarmStore(_storage.Open(StoreFile.Alarms));
        AlarmEnvelope first = TestAlarms.Alarm(0xD1, 1);
        await alarms.StoreAlarmAsync(first, first.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);
        await _server.KillAsync();

        AlarmEnvelope second = TestAlarms.Alarm(0xD1, 2);
        Task<bool> stored = alarms.StoreAlarmAsync(second, second.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(stored.IsCompleted);
        await _server.RestartAsync();

        Assert.True(await stored);
        Assert.Equal(2, await alarms.CountAsync(CancellationToken.None));
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}
