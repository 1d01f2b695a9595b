using Anshimi.DeviceSim;
using Anshimi.Geo;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Firmware.Tests;

public sealed class SimulatorTests
{
    private static readonly Lazy<SeoulDistricts> Districts = new(() => SeoulDistricts.Load(Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson")));

    [Fact]
    public void Fleet_spreads_devices_over_all_districts_inside_their_boundaries()
    {
        FleetFile fleet = FleetGenerator.Generate(30, "gw-test", Districts.Value, seed: 7);

        Assert.Equal(30, fleet.Devices.Count);
        Assert.Equal(25, fleet.Devices.Select(d => d.DistrictCode).Distinct().Count());
        Assert.Equal(30, fleet.Devices.Select(d => d.DeviceId).Distinct().Count());
        foreach (DeviceRecord d in fleet.Devices)
        {
            Assert.True(DeviceIdText.TryParse(d.DeviceId, out _));
            Assert.Equal(d.DistrictCode, Districts.Value.Locate(d.Site.Latitude, d.Site.Longitude)?.Code);
            Assert.Contains(Districts.Value.ByCode(d.DistrictCode!)!.NameKo, d.Site.Address, StringComparison.Ordinal);
            Assert.Contains(d.Profile, new[] { "home", "shop" });
            Assert.Equal(64, d.KeyHex.Length);
            Assert.True(d.MqttPassword.Length >= 32);
        }
    }

    [Fact]
    public void Streetlights_take_ids_from_their_own_range_and_with_a_street_stand_in_a_row_30_m_apart()
    {
        FleetFile spread = FleetGenerator.Generate(40, "gw", Districts.Value, seed: 3, streetlights: 30);
        Assert.All(spread.Devices, d => Assert.Equal(d.Profile == StreetlightFleet.Profile, DeviceIdText.IsStreetlight(d.NumericId)));
        Assert.Equal(30, spread.Devices.Count(d => d.Profile == StreetlightFleet.Profile));

        FleetFile street = FleetGenerator.Generate(2, "gw", Districts.Value, seed: 3, streetlights: 5, street: (37.5663, 126.9779));
        DeviceRecord[] lights = [.. street.Devices.Where(d => d.Profile == StreetlightFleet.Profile)];
        Assert.Equal(5, lights.Length);
        Assert.All(lights, l => Assert.Equal("11140", l.DistrictCode));
        Assert.All(lights, l => Assert.Equal(37.5663, l.Site.Latitude));
        for (int i = 1; i < lights.Length; i++)
        {
            double metres = (lights[i].Site.Longitude - lights[i - 1].Site.Longitude) * FleetGenerator.MetresPerDegreeLongitude(37.5663);
            Assert.Equal(FleetGenerator.StreetSpacingMetres, metres, 0.2);
        }

        ArgumentException outside = Assert.Throws<ArgumentException>(() => FleetGenerator.Generate(1, "gw", Districts.Value, seed: 3, streetlights: 2, street: (35.1796, 129.0756)));
        Assert.Contains("leaves Seoul", outside.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Generated_devices_never_take_an_id_the_cloud_reserves()
    {
        // Seed 1 with 1,010 devices drew eight ids in 5E000000–5EFFFFFF, which the cloud refused to bind.
        FleetFile fleet = FleetGenerator.Generate(1010, "gw-bench", Districts.Value, seed: 1, streetlights: 20);

        Assert.DoesNotContain(fleet.Devices, d => DeviceIdText.IsCloudReserved(d.NumericId));
        Assert.Equal(1030, fleet.Devices.Select(d => d.DeviceId).Distinct().Count());
    }

    [Fact]
    public void Same_seed_gives_same_places_but_fresh_secrets()
    {
        FleetFile a = FleetGenerator.Generate(5, "gw", Districts.Value, seed: 42);
        FleetFile b = FleetGenerator.Generate(5, "gw", Districts.Value, seed: 42);

        Assert.Equal(a.Devices.Select(d => (d.DeviceId, d.Site)), b.Devices.Select(d => (d.DeviceId, d.Site)));
        Assert.All(a.Devices.Zip(b.Devices), pair =>
        {
            Assert.NotEqual(pair.First.KeyHex, pair.Second.KeyHex);
            Assert.NotEqual(pair.First.MqttPassword, pair.Second.MqttPassword);
        });
    }

    [Fact]
    public void Broker_auth_files_confine_devices_to_their_own_topics_and_are_private()
    {
        FleetFile fleet = FleetGenerator.Generate(2, "gw", Districts.Value, seed: 1);
        var services = new[] { ServiceUser.Parse("gateway:s3cret"), ServiceUser.Parse("cloud:0ther:pw") };
        string dir = Directory.CreateTempSubdirectory("broker-auth-").FullName;
        try
        {
            BrokerAuth.Write(fleet, services, dir, listenersPort: 18830);

            Assert.Equal(BrokerListeners.SiteBroker(new SiteBrokerListeners { Port = 18830 }), File.ReadAllLines(Path.Combine(dir, BrokerAuth.ListenersFile)));
            string[] passwd = File.ReadAllLines(Path.Combine(dir, "passwd"));
            Assert.Equal(fleet.Devices.Select(d => d.DeviceId + ":" + d.MqttPassword).Concat(["gateway:s3cret", "cloud:0ther:pw"]), passwd);
            string acl = File.ReadAllText(Path.Combine(dir, "acl"));
            Assert.Contains("pattern write anshimi/v1/d/%u/up\n", acl, StringComparison.Ordinal);
            Assert.Contains("pattern write anshimi/v1/d/%u/status\n", acl, StringComparison.Ordinal);
            Assert.Contains("pattern read anshimi/v1/d/%u/down\n", acl, StringComparison.Ordinal);
            Assert.Contains("user cloud\ntopic read anshimi/v1/gw/+/events\n", acl, StringComparison.Ordinal);
            Assert.Contains("user gateway\ntopic read anshimi/v1/d/+/up\n", acl, StringComparison.Ordinal);
            Assert.Contains("topic write anshimi/v1/gw/" + fleet.GatewayId + "/events\n", acl, StringComparison.Ordinal);
            Assert.DoesNotContain("anshimi/v1/#", acl, StringComparison.Ordinal);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "passwd")));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "acl")));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("gateway")]
    [InlineData("gateway:")]
    [InlineData(":pw")]
    [InlineData("gate way:pw")]
    [InlineData("anshimi/#:pw")]
    [InlineData("operator:pw")]
    public void Bad_service_accounts_are_refused(string text)
    {
        Assert.Throws<FormatException>(() => ServiceUser.Parse(text));
    }

    [Fact]
    public void A_service_account_must_name_its_role_and_so_can_never_take_a_device_name()
    {
        FleetFile fleet = FleetGenerator.Generate(1, "gw", Districts.Value, seed: 1);
        var error = Assert.Throws<FormatException>(() => ServiceUser.Parse(fleet.Devices[0].DeviceId.ToLowerInvariant() + ":pw"));
        Assert.Contains("gateway", error.Message, StringComparison.Ordinal);
        Assert.Equal(ServiceRole.Gateway, ServiceUser.Parse("gateway-2:pw").Role);
        Assert.Equal(ServiceRole.Cloud, ServiceUser.Parse("cloud:pw").Role);
    }
}
