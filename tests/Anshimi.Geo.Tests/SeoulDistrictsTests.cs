using Anshimi.Geo;

namespace Anshimi.Geo.Tests;

public sealed class SeoulDistrictsTests
{
    private static readonly SeoulDistricts Districts = SeoulDistricts.Load(SeoulDataFiles.Path("seoul-municipalities.geojson"));

    [Fact]
    public void Loads_all_twenty_five_districts_with_names()
    {
        Assert.Equal(25, Districts.All.Count);
        Assert.Equal(25, Districts.All.Select(d => d.Code).Distinct().Count());
        Assert.All(Districts.All, d => Assert.EndsWith("구", d.NameKo, StringComparison.Ordinal));
        Assert.All(Districts.All, d => Assert.EndsWith("-gu", d.NameEn, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(37.5663, 126.9779, "11140", "중구")] // Seoul City Hall
    [InlineData(37.5116, 127.0592, "11680", "강남구")] // COEX
    [InlineData(37.5796, 126.9770, "11110", "종로구")] // Gyeongbokgung
    [InlineData(37.5512, 126.9882, "11170", "용산구")] // N Seoul Tower
    [InlineData(37.5133, 127.1028, "11710", "송파구")] // Lotte World Tower
    public void Locates_landmarks_in_their_district(double lat, double lon, string code, string nameKo)
    {
        District? district = Districts.Locate(lat, lon);
        Assert.NotNull(district);
        Assert.Equal(code, district.Code);
        Assert.Equal(nameKo, district.NameKo);
    }

    [Theory]
    [InlineData(35.1796, 129.0756)] // Busan
    [InlineData(37.4563, 126.7052)] // Incheon
    [InlineData(0, 0)]
    [InlineData(double.NaN, 127.0)]
    [InlineData(37.5, double.PositiveInfinity)]
    public void Points_outside_Seoul_have_no_district(double lat, double lon)
    {
        Assert.Null(Districts.Locate(lat, lon));
    }

    [Fact]
    public void Random_points_fall_inside_the_district_they_were_drawn_for()
    {
        var random = new Random(7);
        foreach (District district in Districts.All)
        {
            for (int i = 0; i < 4; i++)
            {
                (double lat, double lon) = SeoulDistricts.RandomPointIn(district, random);
                Assert.Equal(district.Code, Districts.Locate(lat, lon)?.Code);
            }
        }
    }

    [Fact]
    public void Malformed_files_are_refused_with_a_reason()
    {
        string path = Path.Combine(Path.GetTempPath(), "districts-" + Guid.NewGuid().ToString("N") + ".geojson");
        try
        {
            File.WriteAllText(path, "{\"features\":[{\"properties\":{\"SIG_CD\":\"1\"}}]}");
            var error = Assert.Throws<FormatException>(() => SeoulDistricts.Load(path));
            Assert.Contains("features[0]", error.Message, StringComparison.Ordinal);

            File.WriteAllText(path, "not json");
            Assert.Throws<FormatException>(() => SeoulDistricts.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
