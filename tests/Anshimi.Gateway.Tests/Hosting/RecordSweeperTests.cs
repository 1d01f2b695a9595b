using Anshimi.Gateway.Hosting;

namespace Anshimi.Gateway.Tests.Hosting;

public sealed class RecordSweeperTests
{
    [Fact]
    public async Task A_failed_sweep_is_reported_and_the_next_one_still_runs_until_the_service_stops()
    {
        using var sweeper = new CountingSweeper(failFirst: 2);

        await sweeper.StartAsync(CancellationToken.None);
        await sweeper.ThirdSweep.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await sweeper.StopAsync(CancellationToken.None);
        int afterStop = sweeper.Sweeps;
        await Task.Delay(CountingSweeper.Interval * 5);

        Assert.Equal(2, sweeper.Failures.Count);
        Assert.All(sweeper.Failures, f => Assert.IsType<InvalidOperationException>(f));
        Assert.Equal(afterStop, sweeper.Sweeps);
        Assert.True(sweeper.ExecuteTask!.IsCompletedSuccessfully);
    }

    private sealed class CountingSweeper(int failFirst) : RecordSweeper(Interval, TimeProvider.System)
    {
        public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

        private int _sweeps;

        public int Sweeps => Volatile.Read(ref _sweeps);

        public List<Exception> Failures { get; } = [];

        public TaskCompletionSource ThirdSweep { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override Task SweepOnceAsync(CancellationToken cancellationToken)
        {
            int sweep = Interlocked.Increment(ref _sweeps);
            if (sweep == 3)
            {
                ThirdSweep.TrySetResult();
            }

            return sweep <= failFirst ? throw new InvalidOperationException("disk full") : Task.CompletedTask;
        }

        protected override void OnSweepFailed(Exception exception) => Failures.Add(exception);
    }
}
