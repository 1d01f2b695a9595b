using System;
using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Adapters
{
    /// <summary>Retry jitter from System.Random, which nanoFramework seeds from the ESP32's hardware RNG. One per thread.</summary>
    public sealed class DeviceRandom : IRandom
    {
        private readonly Random _random = new Random();

        public int Next(int maxExclusive)
        {
            return _random.Next(maxExclusive);
        }
    }
}
