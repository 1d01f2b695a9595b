using System.Collections.Concurrent;
using System.Diagnostics;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Storage;
using Anshimi.Protocol.Upstream;
using Xunit.Abstractions;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// The city's PostgreSQL pair (hosting/postgresql, made by its own scripts) loses a member while alarms are stored through
/// the real <see cref="AlarmStore"/> on the bridges' multi-host connection string and default settings: every alarm the
/// store acknowledged is in the database afterwards, once, and the same store carries on without a restart.
/// </summary>
[Trait("Category", "HighAvailability")]
[Trait("Category", "Storage")]
public sealed class PostgresFailoverTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Writers = 4;
    private const int PerWriter = 40;

    private static readonly SiteArea Gangnam = new("11680", "1168064000");

    private PostgresReplicaSet _pair = null!;
    private string _dataDirectory = null!;
    private StoreDatabase _database = null!;

    public async Task InitializeAsync()
    {
        _pair = await PostgresReplicaSet.StartAsync();
        _dataDirectory = Directory.CreateTempSubdirectory("store-").FullName;
        _database = StoreDatabase.Open(
            new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = _pair.ConnectionString }, _dataDirectory, StoreFile.Alarms);
    }

    public async Task DisposeAsync()
    {
        _database.Dispose();
        await _pair.DisposeAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Fact]
    public async Task Every_acknowledged_alarm_survives_the_primary_killed_and_restarted()
    {
        var alarms = new AlarmStore(_database);
        Assert.Equal("anshimi_db2 streaming quorum", await _pair.ReplicationStateAsync());
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var acknowledged = new ConcurrentBag<string>();

        Task<TimeSpan> writing = WriteAlarmsAsync(alarms, 0xE0, acknowledged, stop.Token);
        await WaitUntilAsync(() => acknowledged.Count >= 20, stop.Token);
        await _pair.KillAsync(_pair.Primary, stop.Token);
        int atKill = acknowledged.Count;
        await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
        await _pair.Primary.RestartAsync(stop.Token);
        TimeSpan longest = await writing;
        output.WriteLine($"longest store call: {longest.TotalSeconds:0.0} s");

        Assert.InRange(atKill, 20, Writers * PerWriter - 1);
        await AssertStoredOnceAsync(alarms, acknowledged);
    }

    [Fact]
    public async Task Every_acknowledged_alarm_survives_the_primary_killed_and_the_standby_promoted()
    {
        var alarms = new AlarmStore(_database);
        PostgresServer lost = _pair.Primary;
        Assert.Equal("anshimi_db2 streaming quorum", await _pair.ReplicationStateAsync());
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var acknowledged = new ConcurrentBag<string>();

        Task<TimeSpan> writing = WriteAlarmsAsync(alarms, 0xE8, acknowledged, stop.Token);
        await WaitUntilAsync(() => acknowledged.Count >= 20, stop.Token);
        await _pair.KillAsync(lost, stop.Token);
        int atKill = acknowledged.Count;
        await _pair.PromoteStandbyAsync(stop.Token);
        TimeSpan longest = await writing;
        output.WriteLine($"longest store call: {longest.TotalSeconds:0.0} s");

        Assert.InRange(atKill, 20, Writers * PerWriter - 1);
        Assert.NotSame(lost, _pair.Primary);
        Assert.False(lost.IsRunning);
        await AssertStoredOnceAsync(alarms, acknowledged);

        // The lost member comes back as the new primary's synchronous standby, and the same store goes on writing.
        await _pair.RebuildStandbyAsync(stop.Token);
        Assert.Equal("anshimi_db1 streaming quorum", await _pair.ReplicationStateAsync(stop.Token));
        AlarmEnvelope after = TestAlarms.Alarm(0xEF, 1);
        Assert.True(await alarms.StoreAlarmAsync(after, after.Key, Gangnam, DateTimeOffset.UtcNow, stop.Token));
        Assert.Equal(Writers * PerWriter + 1, await alarms.CountAsync(stop.Token));
    }

    [Fact]
    public async Task A_write_waits_for_a_killed_standby_rather_than_be_acknowledged_on_one_disk()
    {
        var alarms = new AlarmStore(_database);
        AlarmEnvelope first = TestAlarms.Alarm(0xF0, 1);
        Assert.True(await alarms.StoreAlarmAsync(first, first.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None));
        await _pair.KillAsync(_pair.Standby);

        AlarmEnvelope second = TestAlarms.Alarm(0xF0, 2);
        Task<bool> stored = alarms.StoreAlarmAsync(second, second.Key, Gangnam, DateTimeOffset.UtcNow, CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(stored.IsCompleted);

        await _pair.Standby.RestartAsync();
        Assert.True(await stored.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, await alarms.CountAsync(CancellationToken.None));
    }

    // Several writers, as several gateways' envelopes arrive: an alarm counts as acknowledged only once the store returned.
    // Returns the longest a store call took: how long the bridge waited out the database's failure.
    private static async Task<TimeSpan> WriteAlarmsAsync(AlarmStore alarms, uint firstDevice, ConcurrentBag<string> acknowledged, CancellationToken cancellationToken)
    {
        TimeSpan[] longest = await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            TimeSpan writerLongest = TimeSpan.Zero;
            for (uint counter = 1; counter <= PerWriter; counter++)
            {
                AlarmEnvelope alarm = TestAlarms.Alarm(firstDevice + (uint)w, counter);
                long started = Stopwatch.GetTimestamp();

                // False when a retry finds its own earlier commit, whose answer the crash lost: stored all the same.
                await alarms.StoreAlarmAsync(alarm, alarm.Key, Gangnam, DateTimeOffset.UtcNow, cancellationToken);
                acknowledged.Add(alarm.Key);
                TimeSpan took = Stopwatch.GetElapsedTime(started);
                writerLongest = took > writerLongest ? took : writerLongest;
                await Task.Delay(10, cancellationToken);
            }

            return writerLongest;
        }, cancellationToken)));
        return longest.Max();
    }

    private static async Task AssertStoredOnceAsync(AlarmStore alarms, ConcurrentBag<string> acknowledged)
    {
        Assert.Equal(Writers * PerWriter, acknowledged.Distinct().Count());
        Assert.Equal(Writers * PerWriter, await alarms.CountAsync(CancellationToken.None));
        foreach (string key in acknowledged)
        {
            Assert.NotNull(await alarms.FindAsync(key, CancellationToken.None));
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}
