using System.Globalization;
using System.Security.Cryptography;
using Anshimi.Geo;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Protocol.Upstream.Provisioning;

namespace Anshimi.DeviceSim;

/// <summary>
/// Makes a fleet of simulated bells spread round-robin over Seoul's districts. Ids, places and
/// profiles follow the seed; keys and broker passwords always come from the system's CSPRNG.
/// </summary>
public static class FleetGenerator
{
    /// <param name="profile">Every device's profile (e.g. "doorbell"); null for the usual mix of home and shop bells.</param>
    public static FleetFile Generate(int count, string gatewayId, SeoulDistricts districts, int? seed, string? profile = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        Random random = seed is int s ? new Random(s) : new Random(RandomNumberGenerator.GetInt32(int.MaxValue));
        var ids = new HashSet<uint>();
        var devices = new List<DeviceRecord>(count);
        for (int i = 0; i < count; i++)
        {
            District district = districts.All[i % districts.All.Count];
            uint id;
            do
            {
                id = (uint)random.NextInt64(1, uint.MaxValue);
            }
            while (!ids.Add(id));

            (double lat, double lon) = SeoulDistricts.RandomPointIn(district, random);
            string mixed = random.Next(10) < 7 ? "home" : "shop";
            string deviceProfile = profile ?? mixed;
            var site = new SiteInfo(deviceProfile == SimulatedDoorbell.Profile ? "home" : deviceProfile, Math.Round(lat, 6), Math.Round(lon, 6), "서울특별시 " + district.NameKo + " (모의 설치 simulated)");
            devices.Add(new DeviceRecord(
                DeviceIdText.Format(id),
                Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
                Convert.ToHexString(RandomNumberGenerator.GetBytes(18)).ToLower(CultureInfo.InvariantCulture),
                deviceProfile,
                site,
                district.Code));
        }

        return new FleetFile(gatewayId, devices);
    }
}
