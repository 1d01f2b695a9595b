using System;
using Anshimi.Firmware.Hal;

namespace Anshimi.Streetlight.Adapters
{
    /// <summary>The chip's clocks: the RTC for UTC (the only place device code may read it) and the system tick counter.</summary>
    public sealed class DeviceClock : IClock
    {
        public DateTime UtcNow
        {
            get { return DateTime.UtcNow; }
        }

        public long MonotonicMs
        {
            get { return Environment.TickCount64; }
        }
    }
}
