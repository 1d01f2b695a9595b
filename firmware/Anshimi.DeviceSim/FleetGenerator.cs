using System.Globalization;
using System.Security.Cryptography;
using Anshimi.Geo;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>
/// Makes a fleet of simulated bells (and, when asked, streetlights) spread round-robin over Seoul's districts. Ids,
/// places and profiles follow the seed; keys and broker passwords always come from the system's CSPRNG.
/// </summary>
public static class FleetGenerator
{
    /// <param name="streetlights">Streetlights added after the bells, placed in the districts the same way.</param>
    public static FleetFile Generate(int count, string gatewayId, SeoulDistricts districts, int? seed, int streetlights = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegative(streetlights);
        Random random = seed is int s ? new Random(s) : new Random(RandomNumberGenerator.GetInt32(int.MaxValue));
        var ids = new HashSet<uint>();
        var devices = new List<DeviceRecord>(count);
        for (int i = 0; i < count + streetlights; i++)
        {
            District district = districts.All[i % districts.All.Count];
            uint id;
            do
            {
                id = (uint)random.NextInt64(1, uint.MaxValue);
            }
            while (!ids.Add(id));

            (double lat, double lon) = SeoulDistricts.RandomPointIn(district, random);
            string profile = i >= count ? StreetlightFleet.Profile : random.Next(10) < 7 ? "home" : "shop";
            var site = new SiteInfo(profile, Math.Round(lat, 6), Math.Round(lon, 6), "서울특별시 " + district.NameKo + " (모의 설치 simulated)");
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
}
