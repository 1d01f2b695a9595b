using Anshimi.Gateway.Hosting;
using Anshimi.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.Gateway.Tests.Hosting;

public sealed class RecordSweeperTests
{
    [Fact]
    public async Task A_failed_sweep_is_reported_and_the_next_one_still_runs_an_interval_later_until_the_service_stops()
    {
        var time = new FakeTimeProvider();
        DateTimeOffset start = time.GetUtcNow();
        using var sweeper = new CountingSweeper(failFirst: 2, time);

        await sweeper.StartAsync(CancellationToken.None);
        await time.AdvanceUntilAsync(CountingSweeper.Interval / 4, () => sweeper.Sweeps >= 3, "a third sweep");
        Assert.True(time.GetUtcNow() - start >= 3 * CountingSweeper.Interval, "three sweeps within " + (time.GetUtcNow() - start));

        using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await sweeper.StopAsync(stopping.Token);
        int afterStop = sweeper.Sweeps;
        time.Advance(CountingSweeper.Interval * 5);

        Assert.Equal(2, sweeper.Failures.Count);
        Assert.All(sweeper.Failures, f => Assert.IsType<InvalidOperationException>(f));
        Assert.Equal(afterStop, sweeper.Sweeps);
        Assert.True(sweeper.ExecuteTask!.IsCompletedSuccessfully);
    }

    private sealed class CountingSweeper(int failFirst, TimeProvider time) : RecordSweeper(Interval, time)
    {
        public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

        private int _sweeps;

        public int Sweeps => Volatile.Read(ref _sweeps);

        public List<Exception> Failures { get; } = [];

        protected override Task SweepOnceAsync(CancellationToken cancellationToken)
        {
            int sweep = Interlocked.Increment(ref _sweeps);
            return sweep <= failFirst ? throw new InvalidOperationException("disk full") : Task.CompletedTask;
        }

        protected override void OnSweepFailed(Exception exception) => Failures.Add(exception);
    }
}
