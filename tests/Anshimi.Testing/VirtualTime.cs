using Microsoft.Extensions.Time.Testing;

namespace Anshimi.Testing;

/// <summary>Moving a <see cref="FakeTimeProvider"/> while the code under test runs its timers on other threads.</summary>
public static class VirtualTime
{
    /// <summary>
    /// Advances <paramref name="time"/> by <paramref name="step"/> until <paramref name="condition"/> holds, and throws
    /// <see cref="TimeoutException"/> after <paramref name="timeout"/> (default 30 s) of real time. A background loop
    /// arms its next timer only after the test saw its last effect, so a single jump could come before that timer
    /// exists; small steps with a short real pause between them let the loop catch up.
    /// </summary>
    public static async Task AdvanceUntilAsync(this FakeTimeProvider time, TimeSpan step, Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(condition);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(step, TimeSpan.Zero);
        DateTimeOffset start = time.GetUtcNow();
        DateTime deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"not reached after {time.GetUtcNow() - start} of virtual time: {what}");
            }

            time.Advance(step);
            await Task.Delay(5).ConfigureAwait(false);
        }
    }
}
