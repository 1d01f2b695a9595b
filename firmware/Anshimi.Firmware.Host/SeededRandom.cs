using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Host;

/// <summary>Retry jitter from System.Random: seeded for repeatable runs, shared-random otherwise.</summary>
public sealed class SeededRandom : IRandom
{
    private readonly Random _random;

    public SeededRandom(int seed)
    {
        _random = new Random(seed);
    }

    public SeededRandom()
    {
        _random = Random.Shared;
    }

    public int Next(int maxExclusive) => _random.Next(maxExclusive);
}
