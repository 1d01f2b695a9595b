using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>An LED that remembers what it showed and when.</summary>
public sealed class SimulatedLed : IStatusLed
{
    private readonly IClock _clock;
    private readonly List<LedChange> _history = [];
    private readonly Lock _lock = new();
    private volatile int _current;

    public SimulatedLed(IClock clock)
    {
        _clock = clock;
    }

    public event EventHandler<LedChange>? Changed;

    public LedState Current => (LedState)_current;

    public IReadOnlyList<LedChange> History
    {
        get
        {
            lock (_lock)
            {
                return _history.ToArray();
            }
        }
    }

    public void Show(LedState state)
    {
        var change = new LedChange(state, _clock.MonotonicMs);
        lock (_lock)
        {
            _history.Add(change);
        }

        _current = (int)state;
        Changed?.Invoke(this, change);
    }
}

public sealed record LedChange(LedState State, long AtMs);
