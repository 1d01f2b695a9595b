using Anshimi.Firmware.Streetlight;

namespace Anshimi.Firmware.Tests.Streetlight;

public sealed class SolarCalculatorTests
{
    private const double Lat = StreetlightRig.SeoulLatitude;
    private const double Lon = StreetlightRig.SeoulLongitude;
    private static readonly TimeSpan Kst = TimeSpan.FromHours(9);

    // Published times for Seoul (Korea Astronomy and Space Science Institute almanac, KST, rounded to the minute).
    [Theory]
    [InlineData(2025, 6, 21, "05:11", "19:57")]
    [InlineData(2025, 12, 21, "07:43", "17:17")]
    [InlineData(2025, 3, 20, "06:35", "18:44")]
    [InlineData(2025, 9, 23, "06:20", "18:28")]
    public void Seoul_sunrise_and_sunset_are_within_two_minutes_of_the_almanac(int year, int month, int day, string sunrise, string sunset)
    {
        var localDay = new DateTime(year, month, day, 0, 0, 0, DateTimeKind.Utc);
        AssertNear(localDay, sunrise, SolarCalculator.EventMinutesUtc(localDay, Lat, Lon, sunrise: true));
        AssertNear(localDay, sunset, SolarCalculator.EventMinutesUtc(localDay, Lat, Lon, sunrise: false));
    }

    [Theory]
    [InlineData(12, 0, false)]
    [InlineData(22, 0, true)]
    [InlineData(2, 0, true)]
    [InlineData(5, 30, false)]
    [InlineData(4, 50, true)]
    [InlineData(19, 50, true)] // within the 15-minute margin before sunset
    [InlineData(19, 30, false)]
    public void Night_is_sunset_to_sunrise_widened_by_the_margin(int hourKst, int minuteKst, bool night)
    {
        DateTime utc = new DateTime(2025, 6, 21, hourKst, minuteKst, 0, DateTimeKind.Utc) - Kst;
        Assert.Equal(night, SolarCalculator.IsNight(utc, Lat, Lon, 15));
    }

    [Fact]
    public void Polar_day_and_night_have_no_sunrise_or_sunset_and_still_answer()
    {
        Assert.Equal(SolarCalculator.NeverSets, SolarCalculator.EventMinutesUtc(new DateTime(2025, 6, 21), 80, 15, true));
        Assert.Equal(SolarCalculator.NeverRises, SolarCalculator.EventMinutesUtc(new DateTime(2025, 12, 21), 80, 15, true));
        Assert.False(SolarCalculator.IsNight(new DateTime(2025, 6, 21, 0, 0, 0, DateTimeKind.Utc), 80, 15, 0));
        Assert.True(SolarCalculator.IsNight(new DateTime(2025, 12, 21, 12, 0, 0, DateTimeKind.Utc), 80, 15, 0));
    }

    private static void AssertNear(DateTime localDay, string expectedKst, double minutesUtc)
    {
        TimeSpan expected = TimeSpan.Parse(expectedKst, System.Globalization.CultureInfo.InvariantCulture);
        DateTime computedKst = localDay.AddMinutes(minutesUtc) + Kst;
        double error = Math.Abs((computedKst - (localDay + expected)).TotalMinutes);
        Assert.True(error <= 2, $"computed {computedKst:HH:mm:ss} KST, almanac {expectedKst} ({error:F1} min off)");
    }
}
