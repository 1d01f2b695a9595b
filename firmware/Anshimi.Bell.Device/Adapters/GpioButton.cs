using System.Device.Gpio;
using Anshimi.Firmware.Hal;

namespace Anshimi.Bell.Device
{
    /// <summary>A push button on a GPIO: every edge stamped on entry to the GPIO event (see firmware/README.md).</summary>
    public sealed class GpioButton : IButtonInput
    {
        private readonly GpioPin _pin;
        private readonly IClock _clock;
        private readonly bool _activeLow;

        /// <param name="internalPullUp">False where the board has its own pull-up (it must also hold in deep sleep).</param>
        public GpioButton(GpioController gpio, int pinNumber, bool activeLow, bool internalPullUp, IClock clock)
        {
            _clock = clock;
            _activeLow = activeLow;
            _pin = gpio.OpenPin(pinNumber, internalPullUp ? PinMode.InputPullUp : PinMode.Input);

            // The bell debounces by the stamps; a driver-side filter would hide the edges it times.
            _pin.DebounceTimeout = System.TimeSpan.Zero;
            _pin.ValueChanged += OnValueChanged;
        }

        public event ButtonChangedHandler ButtonChanged;

        public bool IsPressed
        {
            get { return (_pin.Read() == PinValue.Low) == _activeLow; }
        }

        private void OnValueChanged(object sender, PinValueChangedEventArgs e)
        {
            ButtonChangedHandler handler = ButtonChanged;
            if (handler != null)
            {
                bool low = e.ChangeType == PinEventTypes.Falling;
                handler(low == _activeLow, _clock.MonotonicMs);
            }
        }
    }

    /// <summary>A slow contact (lid switch, mains sense) read when polled, polarity from the pin map.</summary>
    public sealed class GpioContact : IDigitalInput
    {
        private readonly GpioPin _pin;
        private readonly bool _activeLow;

        public GpioContact(GpioController gpio, int pinNumber, bool activeLow, bool internalPullUp)
        {
            _activeLow = activeLow;
            _pin = gpio.OpenPin(pinNumber, internalPullUp ? PinMode.InputPullUp : PinMode.Input);
        }

        public bool IsActive
        {
            get { return (_pin.Read() == PinValue.Low) == _activeLow; }
        }
    }

    /// <summary>
    /// The status LED (RGB on mains boards, red/green on the battery board): sending blinks amber, received is
    /// steady blue, acknowledged steady green ("help is on the way"), failed blinks red, idle is dark.
    /// </summary>
    public sealed class GpioStatusLed : IStatusLed
    {
        private readonly GpioPin _red;
        private readonly GpioPin _green;
        private readonly GpioPin _blue;
        private readonly System.Threading.Timer _blink;
        private LedState _state;
        private bool _phase;

        /// <param name="bluePin">-1 on a board without a blue LED (received then shows green).</param>
        public GpioStatusLed(GpioController gpio, int redPin, int greenPin, int bluePin)
        {
            _red = gpio.OpenPin(redPin, PinMode.Output);
            _green = gpio.OpenPin(greenPin, PinMode.Output);
            _blue = bluePin < 0 ? null : gpio.OpenPin(bluePin, PinMode.Output);
            _blink = new System.Threading.Timer(OnBlink, null, 0, 500);
        }

        public void Show(LedState state)
        {
            _state = state;
            Apply();
        }

        private void OnBlink(object state)
        {
            _phase = !_phase;
            if (_state == LedState.Sending || _state == LedState.Failed)
            {
                Apply();
            }
        }

        private void Apply()
        {
            bool on = _phase;
            bool red = false, green = false, blue = false;
            switch (_state)
            {
                case LedState.Sending: red = on; green = on; break;
                case LedState.ReceivedByGateway: blue = true; green = _blue == null; break;
                case LedState.Acknowledged: green = true; break;
                case LedState.Failed: red = on; break;
            }

            _red.Write(red ? PinValue.High : PinValue.Low);
            _green.Write(green ? PinValue.High : PinValue.Low);
            if (_blue != null)
            {
                _blue.Write(blue ? PinValue.High : PinValue.Low);
            }
        }
    }
}
