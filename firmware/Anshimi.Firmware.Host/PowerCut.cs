namespace Anshimi.Firmware.Host;

/// <summary>Where in one flash write the power goes away.</summary>
public enum CutStep
{
    /// <summary>Before anything reached the flash.</summary>
    BeforeWrite,

    /// <summary>Half of the new bytes are on the flash: in <c>name.new</c> for a record (the old entry stands), in place for a slot file.</summary>
    NewHalfWritten,

    /// <summary>The new bytes are complete (<c>name.new</c> for a record; the old entry stands).</summary>
    NewWritten,

    /// <summary>A record's old entry is deleted and <c>name.new</c> not yet renamed; a slot file is complete.</summary>
    OldDeleted,

    /// <summary>The write is complete; nothing after it ran.</summary>
    AfterWrite,
}

/// <summary>One write to a device's flash drive: a record by its name, a slot file by its path (<c>ota/…</c>), or a file deleted.</summary>
public readonly record struct FlashWrite(string Entry, bool Deletes)
{
    public override string ToString() => Deletes ? "delete " + Entry : Entry;
}

/// <summary>Thrown where the power went away, and by every flash access until it comes back: nothing after it runs.</summary>
public sealed class PowerCutException(string entry, CutStep step) : Exception("power cut at " + step + " of writing " + entry)
{
    public string Entry { get; } = entry;

    public CutStep Step { get; } = step;
}

/// <summary>
/// A simulated device's power supply, which this machine lacks like the GPIO pins. It stays on until a cut is planned;
/// then it goes away at the chosen step of the planned write to the device's flash, counted over the record and slot-file
/// adapters that share it (<see cref="PowerCutFlash"/>, <see cref="PowerCutFiles"/>), which leave the files exactly as the
/// device's own adapters leave them at that step. From then on every flash access throws <see cref="PowerCutException"/>
/// and the device's loops end (<see cref="DeviceLoop"/>): nothing more of that boot runs until <see cref="Restore"/>.
/// The cut falls on the counted write whatever the threads' timing, so a run repeats exactly.
/// </summary>
public sealed class PowerCut
{
    private readonly Lock _gate = new();
    private readonly List<FlashWrite> _counted = [];
    private int _cutAtWrite;
    private Func<FlashWrite, bool>? _counts;
    private bool _off;

    /// <summary>Power that stays on until <see cref="Plan"/>.</summary>
    public PowerCut()
    {
    }

    /// <summary>Power that goes away at <paramref name="step"/> of the <paramref name="cutAtWrite"/>-th flash write (never for <see cref="int.MaxValue"/>, 0 or less).</summary>
    public PowerCut(int cutAtWrite, CutStep step = CutStep.NewWritten) => Plan(cutAtWrite, step);

    /// <summary>Where in its write the planned cut falls.</summary>
    public CutStep Step { get; private set; }

    /// <summary>Writes counted since the plan, the one cut included.</summary>
    public int Writes
    {
        get
        {
            lock (_gate)
            {
                return _counted.Count;
            }
        }
    }

    /// <summary>The writes counted since the plan, in order: how a dry run finds the writes of a sequence to cut at.</summary>
    public IReadOnlyList<FlashWrite> Counted
    {
        get
        {
            lock (_gate)
            {
                return [.. _counted];
            }
        }
    }

    /// <summary>Whether the planned cut happened and the power has not come back.</summary>
    public bool IsOff
    {
        get
        {
            lock (_gate)
            {
                return _off;
            }
        }
    }

    /// <summary>Whether the planned cut happened (it stays true after <see cref="Restore"/> until the next plan).</summary>
    public bool HasCut { get; private set; }

    /// <summary>
    /// Plans the cut at <paramref name="step"/> of the <paramref name="cutAtWrite"/>-th write from now, counting only the
    /// writes <paramref name="counts"/> selects (every write when null); the count starts again from zero.
    /// </summary>
    public void Plan(int cutAtWrite, CutStep step, Func<FlashWrite, bool>? counts = null)
    {
        lock (_gate)
        {
            _cutAtWrite = cutAtWrite;
            _counts = counts;
            _counted.Clear();
            HasCut = false;
            Step = step;
        }
    }

    /// <summary>The power comes back; the planned cut, if it has not happened, no longer will.</summary>
    public void Restore()
    {
        lock (_gate)
        {
            _off = false;
            _cutAtWrite = 0;
            _counts = null;
        }
    }

    /// <summary>Before a write reaches the flash: true when the power goes away during it.</summary>
    /// <exception cref="PowerCutException">The power is already off.</exception>
    internal bool CutsAt(FlashWrite write)
    {
        lock (_gate)
        {
            if (_off)
            {
                throw new PowerCutException(write.Entry, Step);
            }

            if (_cutAtWrite <= 0 || (_counts is not null && !_counts(write)))
            {
                return false;
            }

            _counted.Add(write);
            if (_counted.Count != _cutAtWrite)
            {
                return false;
            }

            _off = true;
            HasCut = true;
            return true;
        }
    }

    /// <summary>Before a read: a chip without power runs nothing.</summary>
    /// <exception cref="PowerCutException">The power is off.</exception>
    internal void ThrowIfOff(string entry)
    {
        lock (_gate)
        {
            if (_off)
            {
                throw new PowerCutException(entry, Step);
            }
        }
    }
}
