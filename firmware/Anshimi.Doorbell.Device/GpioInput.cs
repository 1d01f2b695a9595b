using System.Device.Gpio;
using Anshimi.Firmware.Hal;

namespace Anshimi.Doorbell.Device
{
    /// <summary>
    /// One input pin as the portable logic wants it: every edge, stamped on entry to the GPIO event
    /// handler, with the pin's active level from the board's pin map. No driver-side debounce: the logic
    /// debounces by the stamps.
    /// </summary>
    public sealed class GpioInput : IButtonInput
    {
        private readonly GpioPin _pin;
        private readonly IClock _clock;
        private readonly PinValue _activeLevel;

        public GpioInput(GpioController gpio, int pinNumber, PinMode mode, bool activeHigh, IClock clock)
        {
            _clock = clock;
            _activeLevel = activeHigh ? PinValue.High : PinValue.Low;
            _pin = gpio.OpenPin(pinNumber, mode);
            _pin.ValueChanged += OnValueChanged;
        }

        public event ButtonChangedHandler ButtonChanged;

        public bool IsPressed
        {
            get { return _pin.Read() == _activeLevel; }
        }

        private void OnValueChanged(object sender, PinValueChangedEventArgs e)
        {
            ButtonChangedHandler handler = ButtonChanged;
            if (handler != null)
            {
                bool rising = e.ChangeType == PinEventTypes.Rising;
                handler(rising == (_activeLevel == PinValue.High), _clock.MonotonicMs);
            }
        }
    }
}
