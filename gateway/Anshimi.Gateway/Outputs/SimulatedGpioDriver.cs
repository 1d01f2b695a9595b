using System.Device.Gpio;

namespace Anshimi.Gateway.Outputs;

/// <summary>
/// A GPIO chip for machines without the pins (tests, the demo), behind dotnet/iot's own driver abstraction, so
/// <see cref="GpioController"/> runs its real code path over it. Each line remembers its mode, its level and every
/// change of level, so a test can read what the siren, strobe and LED did. Deterministic: no threads, no clock.
/// </summary>
public sealed class SimulatedGpioDriver(int lineCount = SimulatedGpioDriver.RaspberryPi4Lines) : GpioDriver
{
    /// <summary>Lines of the Raspberry Pi 4's <c>gpiochip0</c> (BCM2711).</summary>
    public const int RaspberryPi4Lines = 58;

    private readonly Lock _lock = new();
    private readonly Dictionary<int, SimulatedLine> _lines = [];

    protected override int PinCount => lineCount;

    /// <summary>The line as last opened; null when it never was.</summary>
    public SimulatedLine? Line(int line)
    {
        lock (_lock)
        {
            return _lines.GetValueOrDefault(line);
        }
    }

    protected override void OpenPin(int pinNumber)
    {
        lock (_lock)
        {
            if (pinNumber < 0 || pinNumber >= lineCount)
            {
                // What libgpiod reports for an offset the chip does not have.
                throw new IOException($"GPIO line {pinNumber} does not exist on a chip of {lineCount} lines");
            }

            if (_lines.TryGetValue(pinNumber, out SimulatedLine? line) && line.IsOpen)
            {
                throw new IOException($"GPIO line {pinNumber} is busy");
            }

            _lines[pinNumber] = new SimulatedLine();
        }
    }

    protected override void ClosePin(int pinNumber)
    {
        lock (_lock)
        {
            if (_lines.TryGetValue(pinNumber, out SimulatedLine? line))
            {
                line.IsOpen = false;
            }
        }
    }

    protected override void SetPinMode(int pinNumber, PinMode mode) => Open(pinNumber).Mode = mode;

    protected override void SetPinMode(int pinNumber, PinMode mode, PinValue initialValue)
    {
        lock (_lock)
        {
            SimulatedLine line = Open(pinNumber);
            line.Mode = mode;
            if (mode == PinMode.Output)
            {
                line.Set(initialValue == PinValue.High);
            }
        }
    }

    protected override PinMode GetPinMode(int pinNumber) => Open(pinNumber).Mode;

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => mode is PinMode.Input or PinMode.Output;

    protected override PinValue Read(int pinNumber) => Open(pinNumber).High ? PinValue.High : PinValue.Low;

    protected override void Toggle(int pinNumber) => Write(pinNumber, !Open(pinNumber).High);

    protected override void Write(int pinNumber, PinValue value)
    {
        lock (_lock)
        {
            SimulatedLine line = Open(pinNumber);
            if (line.Mode != PinMode.Output)
            {
                throw new InvalidOperationException($"GPIO line {pinNumber} is not an output");
            }

            line.Set(value == PinValue.High);
        }
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The simulated chip drives outputs only");

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback) =>
        throw new NotSupportedException("The simulated chip drives outputs only");

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback) =>
        throw new NotSupportedException("The simulated chip drives outputs only");

    public override GpioChipInfo GetChipInfo() => new(0, "gpiochip0", "simulated", lineCount);

    private SimulatedLine Open(int pinNumber)
    {
        lock (_lock)
        {
            return _lines.TryGetValue(pinNumber, out SimulatedLine? line) && line.IsOpen
                ? line
                : throw new InvalidOperationException($"GPIO line {pinNumber} is not open");
        }
    }

    /// <summary>One line of the simulated chip, in electrical levels (the active-low flag is the caller's).</summary>
    public sealed class SimulatedLine
    {
        private readonly List<bool> _changes = [];

        public bool IsOpen { get; internal set; } = true;

        public PinMode Mode { get; internal set; } = PinMode.Input;

        public bool High { get; private set; }

        /// <summary>Each level the line was driven to that differed from the one before (true: high).</summary>
        public IReadOnlyList<bool> Changes
        {
            get
            {
                lock (_changes)
                {
                    return [.. _changes];
                }
            }
        }

        internal void Set(bool high)
        {
            lock (_changes)
            {
                if (high != High)
                {
                    _changes.Add(high);
                }

                High = high;
            }
        }
    }
}
