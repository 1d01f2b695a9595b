namespace Anshimi.Gateway.Outbox;

/// <summary>Wakes the outbox forwarder early: a new alarm was committed, or the broker connection came back.</summary>
public sealed class OutboxSignal
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled; one wake-up covers every row.
        }
    }

    /// <summary>True when woken by <see cref="Notify"/>, false when the timeout passed.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);
}
