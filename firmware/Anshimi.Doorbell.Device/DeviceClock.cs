using System;
using System.Diagnostics;
using Anshimi.Firmware.Hal;

namespace Anshimi.Doorbell.Device
{
    /// <summary>The ESP32's clocks: monotonic milliseconds from the high-resolution timer, UTC from SNTP once Wi-Fi has set it.</summary>
    public sealed class DeviceClock : IClock
    {
        private readonly Stopwatch _uptime = Stopwatch.StartNew();

        public DateTime UtcNow
        {
            get { return DateTime.UtcNow; }
        }

        public long MonotonicMs
        {
            get { return _uptime.ElapsedMilliseconds; }
        }
    }

    /// <summary>Retry jitter from the ESP32's hardware RNG (System.Random is backed by it on nanoFramework).</summary>
    public sealed class DeviceRandom : IRandom
    {
        private readonly Random _random = new Random();

        public int Next(int maxExclusive)
        {
            return _random.Next(maxExclusive);
        }
    }
}
