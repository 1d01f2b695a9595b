using Anshimi.CloudBridge.Districts;

namespace Anshimi.CloudBridge.Tests;

public class DistrictDirectoryTests
{
    private static readonly DistrictDirectory Districts = DistrictDirectory.Load(CloudBridgeHost.DistrictsFile);

    [Theory]
    [InlineData(37.5663, 126.9779, "11140", "중구", "Jung-gu")] // Seoul City Hall
    [InlineData(37.5172, 127.0473, "11680", "강남구", "Gangnam-gu")] // Gangnam-gu office
    [InlineData(37.5116, 127.0595, "11680", "강남구", "Gangnam-gu")] // COEX
    [InlineData(37.5547, 126.9707, "11170", "용산구", "Yongsan-gu")] // Seoul station
    [InlineData(37.5796, 126.9770, "11110", "종로구", "Jongno-gu")] // Gyeongbokgung
    public void Known_points_resolve_to_their_district(double lat, double lon, string code, string nameKo, string nameEn)
    {
        string resolved = Districts.Resolve(lat, lon);

        Assert.Equal(code, resolved);
        Assert.Equal(new DistrictName(code, nameKo, nameEn), Districts.NameOf(resolved));
    }

    [Theory]
    [InlineData(35.1151, 129.0422)] // Busan station
    [InlineData(37.4563, 126.7052)] // Incheon
    [InlineData(0, 0)]
    public void Points_outside_Seoul_are_unknown(double lat, double lon)
    {
        Assert.Equal(DistrictDirectory.UnknownCode, Districts.Resolve(lat, lon));
        Assert.Equal("Outside Seoul", Districts.NameOf(DistrictDirectory.UnknownCode).NameEn);
    }

    [Fact]
    public void All_twenty_five_districts_are_loaded()
    {
        Assert.Equal(25, Districts.All.Count());
    }

    [Fact]
    public void A_missing_file_is_reported_with_the_configuration_key()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => DistrictDirectory.Load("no/such/districts.geojson"));
        Assert.Contains("CloudBridge:DistrictsGeoJson", ex.Message, StringComparison.Ordinal);
    }
}
