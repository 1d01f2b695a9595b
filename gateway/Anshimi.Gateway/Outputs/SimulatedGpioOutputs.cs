namespace Anshimi.Gateway.Outputs;

/// <summary>
/// GPIO outputs for machines without the pins (tests, the demo): each line remembers its level and every change,
/// so a test can read what the siren, strobe and LED did. Deterministic; requesting a line twice fails as on a Pi.
/// </summary>
public sealed class SimulatedGpioOutputs : IGpioOutputs
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Chip, int Line), SimulatedLine> _lines = [];

    public IGpioOutputLine Open(string chip, int line, bool activeLow, string consumer)
    {
        lock (_lock)
        {
            if (_lines.TryGetValue((chip, line), out SimulatedLine? existing) && !existing.Released)
            {
                throw new GpioException($"GPIO line {line} of '{chip}' cannot be requested as an output (in use?): held by {existing.Consumer}");
            }

            var created = new SimulatedLine(consumer);
            _lines[(chip, line)] = created;
            return created;
        }
    }

    /// <summary>The line as last opened; null when it never was.</summary>
    public SimulatedLine? Line(string chip, int line)
    {
        lock (_lock)
        {
            return _lines.GetValueOrDefault((chip, line));
        }
    }

    public sealed class SimulatedLine(string consumer) : IGpioOutputLine
    {
        private readonly Lock _lock = new();
        private readonly List<bool> _changes = [];

        public string Consumer { get; } = consumer;

        public bool Active { get; private set; }

        public bool Released { get; private set; }

        /// <summary>Each level the line was set to that differed from the one before.</summary>
        public IReadOnlyList<bool> Changes
        {
            get
            {
                lock (_lock)
                {
                    return [.. _changes];
                }
            }
        }

        public void Write(bool active)
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(Released, this);
                if (active != Active)
                {
                    _changes.Add(active);
                }

                Active = active;
            }
        }

        public void Dispose()
        {
            lock (_lock)
            {
                Active = false;
                Released = true;
            }
        }
    }
}
