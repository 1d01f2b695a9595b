using System;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Adapters
{
    /// <summary>
    /// The chip's clocks, shared by every device app: UTC from the RTC (set by SNTP on Wi-Fi boards; the only place
    /// device code may read it) and milliseconds since boot from nanoFramework.Runtime.Native's Environment.TickCount64.
    /// </summary>
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
