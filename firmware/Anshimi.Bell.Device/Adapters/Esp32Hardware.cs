using System;
using System.IO.Ports;
using System.Threading;
using Anshimi.Firmware.Hal;
using nanoFramework.Hardware.Esp32;
using nanoFramework.Runtime.Native;

namespace Anshimi.Bell.Device
{
    /// <summary>A hardware UART, pins routed from the pin map; reads never block.</summary>
    public sealed class SerialUartPort : IUartPort
    {
        private readonly SerialPort _port;

        public SerialUartPort(string portName, int rxPin, int txPin, int baud)
        {
            if (portName == "COM2")
            {
                Configuration.SetPinFunction(rxPin, DeviceFunction.COM2_RX);
                Configuration.SetPinFunction(txPin, DeviceFunction.COM2_TX);
            }
            else
            {
                Configuration.SetPinFunction(rxPin, DeviceFunction.COM3_RX);
                Configuration.SetPinFunction(txPin, DeviceFunction.COM3_TX);
            }

            _port = new SerialPort(portName, baud, Parity.None, 8, StopBits.One);
            _port.ReadTimeout = 0;
            _port.Open();
        }

        public int Read(byte[] buffer, int offset, int count)
        {
            int waiting = _port.BytesToRead;
            if (waiting <= 0)
            {
                return 0;
            }

            return _port.Read(buffer, offset, waiting < count ? waiting : count);
        }

        public void Write(byte[] buffer, int offset, int count)
        {
            _port.Write(buffer, offset, count);
        }
    }

    /// <summary>
    /// A software watchdog: a timer checks that the loop fed it within the timeout and reboots the chip
    /// otherwise. A hang inside native code is the ESP-IDF task watchdog's to catch.
    /// </summary>
    public sealed class TimerWatchdog : IWatchdog
    {
        private readonly int _timeoutMs;
        private readonly Timer _timer;
        private readonly object _gate = new object();
        private long _lastFedMs;

        public TimerWatchdog(int timeoutMs)
        {
            _timeoutMs = timeoutMs;
            _lastFedMs = Environment.TickCount64;
            _timer = new Timer(Check, null, 1000, 1000);
        }

        public void Feed()
        {
            lock (_gate)
            {
                _lastFedMs = Environment.TickCount64;
            }
        }

        private void Check(object state)
        {
            long lastFedMs;
            lock (_gate)
            {
                lastFedMs = _lastFedMs;
            }

            if (Environment.TickCount64 - lastFedMs > _timeoutMs)
            {
                Power.RebootDevice();
            }
        }
    }

    /// <summary>
    /// ESP32 deep sleep: the panic button on EXT0 (one pin, its active level), the lid switch on EXT1, and a
    /// timer. The chip restarts on wake; <see cref="WakeCause"/> says which of them woke it.
    /// </summary>
    public sealed class Esp32Sleep : ISleepController
    {
        private readonly Sleep.WakeupGpioPin _button;
        private readonly Sleep.WakeupGpioPin _tamper;

        public Esp32Sleep(Sleep.WakeupGpioPin button, Sleep.WakeupGpioPin tamper)
        {
            _button = button;
            _tamper = tamper;
            switch (Sleep.GetWakeupCause())
            {
                case Sleep.WakeupCause.Ext0: WakeCause = WakeCause.Button; break;
                case Sleep.WakeupCause.Ext1: WakeCause = WakeCause.Tamper; break;
                case Sleep.WakeupCause.Timer: WakeCause = WakeCause.Timer; break;
                default: WakeCause = WakeCause.PowerOn; break;
            }
        }

        public WakeCause WakeCause { get; }

        // The monotonic clock starts with the chip, so the wake is time 0.
        public long WokeAtMs
        {
            get { return 0; }
        }

        public void EnterDeepSleep(long durationMs)
        {
            // Both contacts pull their pin low when they act (button pressed, lid removed).
            Sleep.EnableWakeupByPin(_button, 0);
            Sleep.EnableWakeupByMultiPins(_tamper, Sleep.WakeupMode.AllLow);
            Sleep.EnableWakeupByTimer(TimeSpan.FromTicks(durationMs * TimeSpan.TicksPerMillisecond));
            Sleep.StartDeepSleep();
        }
    }
}
