using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Anshimi.Protocol.Upstream;

/// <summary>
/// The cloud's escort key schedule (protocol/README.md §10.1). Every area's key of rotation <c>n</c> is
/// HKDF-SHA256(the cloud's escort master secret, salt = area (2) ‖ n (4), info "anshimi/v2 escort area key"), so every
/// cloud-bridge instance derives the same keys with no shared state, and a light that holds one cannot derive another
/// area's or the next rotation's. Rotation <c>n</c> starts at <c>n · period</c> after the Unix epoch: its key goes out to
/// the lights then, and escorts are signed with it once the changeover has passed; until then with rotation <c>n − 1</c>,
/// which the lights take until the changeover ends.
/// </summary>
public sealed class EscortKeySchedule
{
    public const int MasterLength = 32;

    private static readonly byte[] AreaKeyLabel = Encoding.ASCII.GetBytes("anshimi/v2 escort area key");

    private readonly byte[] _master;
    private readonly long _periodMinutes;
    private readonly long _changeoverMinutes;

    public EscortKeySchedule(byte[] master, TimeSpan period, TimeSpan changeover)
    {
        ArgumentNullException.ThrowIfNull(master);
        if (master.Length != MasterLength)
        {
            throw new ArgumentException("The escort master secret is 32 bytes.", nameof(master));
        }

        if (!IsValid(period, changeover))
        {
            throw new ArgumentException("The rotation period and the changeover are whole minutes, the changeover shorter than the period.");
        }

        _master = (byte[])master.Clone();
        _periodMinutes = (long)period.TotalMinutes;
        _changeoverMinutes = (long)changeover.TotalMinutes;
    }

    /// <summary>Whole minutes, a period of at least two minutes, a changeover of at least one and below the period.</summary>
    public static bool IsValid(TimeSpan period, TimeSpan changeover) =>
        period.Ticks % TimeSpan.TicksPerMinute == 0 && changeover.Ticks % TimeSpan.TicksPerMinute == 0
        && period >= TimeSpan.FromMinutes(2) && changeover >= TimeSpan.FromMinutes(1) && changeover < period;

    /// <summary>The rotation whose key the lights are given from <paramref name="unixMinute"/> on.</summary>
    public uint DeliveredRotation(long unixMinute) => (uint)(unixMinute / _periodMinutes);

    /// <summary>The rotation whose key signs escorts for <paramref name="unixMinute"/>: the previous one during the changeover.</summary>
    public uint SigningRotation(long unixMinute) => (uint)(Math.Max(0, unixMinute - _changeoverMinutes) / _periodMinutes);

    /// <summary>The first Unix minute at which rotation <paramref name="rotation"/> − 1's escorts are refused.</summary>
    public uint ChangeoverEndMinute(uint rotation) => (uint)((rotation * _periodMinutes) + _changeoverMinutes);

    /// <summary>When rotation <paramref name="rotation"/> starts (its key goes out).</summary>
    public DateTimeOffset RotationStart(uint rotation) => DateTimeOffset.FromUnixTimeSeconds(rotation * _periodMinutes * 60);

    public static byte EpochOf(uint rotation) => (byte)(rotation & 0xFF);

    public byte[] AreaKey(ushort area, uint rotation)
    {
        byte[] salt = new byte[6];
        salt[0] = (byte)(area >> 8);
        salt[1] = (byte)area;
        salt[2] = (byte)(rotation >> 24);
        salt[3] = (byte)(rotation >> 16);
        salt[4] = (byte)(rotation >> 8);
        salt[5] = (byte)rotation;
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, _master, EscortKeySet.KeyLength, salt, AreaKeyLabel);
    }

    /// <summary>The record a light of <paramref name="area"/> is given for <paramref name="rotation"/> (<see cref="EscortKeyRecord"/>).</summary>
    public byte[] Record(ushort area, uint rotation) =>
        EscortKeyRecord.Encode(area, EpochOf(rotation), ChangeoverEndMinute(rotation), AreaKey(area, rotation));

    /// <summary>The keys that sign escorts in <paramref name="area"/> at <paramref name="unixMinute"/>.</summary>
    public EscortKeySet SigningKeys(ushort area, long unixMinute)
    {
        uint rotation = SigningRotation(unixMinute);
        return new EscortKeySet(new PlatformHmacSha256(), area, EpochOf(rotation), AreaKey(area, rotation));
    }

    /// <summary>An area's wire code from a district code ("11215"); false for anything that is not 1–65535.</summary>
    public static bool TryParseArea(string? districtCode, out ushort area) =>
        ushort.TryParse(districtCode, NumberStyles.None, CultureInfo.InvariantCulture, out area) && area != 0;
}
