namespace Anshimi.Ble.Simulation;

/// <summary>One advertisement on its way from a transmitter to one receiver, as loss rules see it.</summary>
public sealed record AirspaceTransmission(BleAddress From, BleAddress To, byte[] Data, DateTimeOffset At);

/// <summary>
/// A loss rule of a simulated airspace: decides whether one receiver misses one advertisement. Rules are
/// asked in the order they were added, for every (advertisement, receiver) pair, in the airspace's fixed
/// delivery order, so a seeded rule drops the same advertisements on every run.
/// </summary>
public abstract class AirspaceRule
{
    /// <summary>Drops the first <paramref name="count"/> advertisements that match (null matches any address).</summary>
    public static AirspaceRule DropFirst(int count, BleAddress? from = null, BleAddress? to = null) =>
        new Counted(t => Matches(t, from, to), count);

    /// <summary>Drops the first <paramref name="count"/> advertisements for which <paramref name="predicate"/> holds.</summary>
    public static AirspaceRule DropFirst(int count, Func<AirspaceTransmission, bool> predicate) => new Counted(predicate, count);

    /// <summary>Drops every matching advertisement: a receiver out of range, a transmitter that is never heard.</summary>
    public static AirspaceRule DropAll(BleAddress? from = null, BleAddress? to = null) => new Counted(t => Matches(t, from, to), int.MaxValue);

    /// <summary>Drops each matching advertisement with <paramref name="probability"/>, from a generator seeded with <paramref name="seed"/>.</summary>
    public static AirspaceRule DropRandom(double probability, int seed, BleAddress? from = null, BleAddress? to = null) =>
        new Random(probability, seed, t => Matches(t, from, to));

    /// <summary>True when this rule drops <paramref name="transmission"/>. Called under the airspace's lock.</summary>
    public abstract bool Drops(AirspaceTransmission transmission);

    private static bool Matches(AirspaceTransmission t, BleAddress? from, BleAddress? to) =>
        (from is null || t.From == from) && (to is null || t.To == to);

    private sealed class Counted(Func<AirspaceTransmission, bool> predicate, int count) : AirspaceRule
    {
        private int _left = count;

        public override bool Drops(AirspaceTransmission transmission)
        {
            if (_left <= 0 || !predicate(transmission))
            {
                return false;
            }

            _left--;
            return true;
        }
    }

    private sealed class Random : AirspaceRule
    {
        private readonly double _probability;
        private readonly System.Random _random;
        private readonly Func<AirspaceTransmission, bool> _applies;

        public Random(double probability, int seed, Func<AirspaceTransmission, bool> applies)
        {
            _applies = applies;
            ArgumentOutOfRangeException.ThrowIfLessThan(probability, 0);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(probability, 1);
            _probability = probability;
#pragma warning disable CA5394 // Loss simulation, not security: a seeded generator makes runs repeatable.
            _random = new System.Random(seed);
        }

        public override bool Drops(AirspaceTransmission transmission) => _applies(transmission) && _random.NextDouble() < _probability;
#pragma warning restore CA5394
    }
}
