using System.Globalization;
using System.Security.Cryptography;
using Anshimi.Firmware.Bells;
using Anshimi.Geo;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>
/// Makes a fleet of simulated bells (and, when asked, streetlights) spread round-robin over Seoul's districts. Ids,
/// places and profiles follow the seed; keys and broker passwords always come from the system's CSPRNG.
/// Without a profile list the bells are 70 % home and 30 % shop; with one, the listed profiles take turns.
/// </summary>
public static class FleetGenerator
{
    /// <summary>Distance between neighbouring lights of a street (<see cref="Generate"/>'s <c>street</c>).</summary>
    public const double StreetSpacingMetres = 30;

    /// <param name="streetlights">Streetlights added after the bells, placed in the districts the same way.</param>
    /// <param name="street">
    /// When given, the streetlights stand in a row instead: one every <see cref="StreetSpacingMetres"/> running east
    /// from this point, like the lit street a resident walks home along.
    /// </param>
    /// <param name="lightSites">
    /// When given, the streetlights stand at these real lights instead, in this order, with their addresses
    /// (<see cref="LitNeighbourhood"/>).
    /// </param>
    public static FleetFile Generate(
        int count, string gatewayId, SeoulDistricts districts, int? seed, int streetlights = 0, IReadOnlyList<string>? profiles = null,
        (double Latitude, double Longitude)? street = null, IReadOnlyList<SiteInfo>? lightSites = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegative(streetlights);
        if (lightSites is not null && (street is not null || lightSites.Count < streetlights))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"streetlights stand either in a street or at real lights, and {streetlights} need as many real lights (got {lightSites.Count})"));
        }
        if (profiles is not null && (profiles.Count == 0 || !profiles.All(p => BellProfiles.IsKnown(p) || p == SimulatedDoorbell.Profile)))
        {
            throw new ArgumentException("profiles must be some of home, shop, voice, battery, doorbell; got '" + string.Join(",", profiles) + "'");
        }

        Random random = seed is int s ? new Random(s) : new Random(RandomNumberGenerator.GetInt32(int.MaxValue));
        var ids = new HashSet<uint>();
        var devices = new List<DeviceRecord>(count);
        for (int i = 0; i < count + streetlights; i++)
        {
            District district = districts.All[i % districts.All.Count];
            bool light = i >= count;
            uint id;
            do
            {
                id = light
                    ? (uint)random.NextInt64(DeviceIdText.FirstStreetlightId, DeviceIdText.LastStreetlightId + 1L)
                    : (uint)random.NextInt64(1, uint.MaxValue);
            }
            // The cloud refuses bindings in its own range (app reports), so a generated device never takes one.
            while (light != DeviceIdText.IsStreetlight(id) || DeviceIdText.IsCloudReserved(id) || !ids.Add(id));

            (double lat, double lon) = SeoulDistricts.RandomPointIn(district, random);
            string address = "서울특별시 " + district.NameKo;
            if (light && street is { } start)
            {
                (lat, lon) = (start.Latitude, start.Longitude + ((i - count) * StreetSpacingMetres / MetresPerDegreeLongitude(start.Latitude)));
                district = districts.Locate(lat, lon) ?? throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"the street at {lat}, {lon} leaves Seoul"));
                address = "서울특별시 " + district.NameKo;
            }
            else if (light && lightSites is not null)
            {
                SiteInfo real = lightSites[i - count];
                (lat, lon) = (real.Latitude, real.Longitude);
                district = districts.Locate(lat, lon) ?? throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"the light {real.Address} at {lat}, {lon} is outside Seoul"));
                address = real.Address;
            }

            // A real light keeps the file's 7 decimals (1 cm); invented places need no more than 6.
            int decimals = light && lightSites is not null ? 7 : 6;
            string profile = light ? StreetlightFleet.Profile : BellProfile(random, profiles, i);
            var site = new SiteInfo(profile == BellProfiles.Shop || profile == StreetlightFleet.Profile ? profile : "home", Math.Round(lat, decimals), Math.Round(lon, decimals), address + " (모의 설치 simulated)");
            devices.Add(new DeviceRecord(
                DeviceIdText.Format(id),
                Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
                Convert.ToHexString(RandomNumberGenerator.GetBytes(18)).ToLower(CultureInfo.InvariantCulture),
                profile,
                site,
                district.Code));
        }

        return new FleetFile(gatewayId, devices);
    }

    public static double MetresPerDegreeLongitude(double latitude) => 111_320 * Math.Cos(latitude * Math.PI / 180);

    private static string BellProfile(Random random, IReadOnlyList<string>? profiles, int index)
    {
        int roll = random.Next(10);
        return profiles is null ? (roll < 7 ? BellProfiles.Home : BellProfiles.Shop) : profiles[index % profiles.Count];
    }
}
