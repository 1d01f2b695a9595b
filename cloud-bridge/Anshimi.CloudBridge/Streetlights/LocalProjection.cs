namespace Anshimi.CloudBridge.Streetlights;

/// <summary>
/// Equirectangular projection to metres around Seoul City Hall. Across Seoul (±20 km) its scale error stays
/// under 0.3 %, well inside the tens of metres the planner works in, and it costs two multiplications.
/// </summary>
public static class LocalProjection
{
    public const double OriginLatitude = 37.5665;
    public const double OriginLongitude = 126.9780;

    private const double EarthRadius = 6_371_008.8;
    private const double MetresPerDegreeLatitude = EarthRadius * Math.PI / 180;
    private static readonly double MetresPerDegreeLongitude = MetresPerDegreeLatitude * Math.Cos(OriginLatitude * Math.PI / 180);

    public static (double X, double Y) ToMetres(double latitude, double longitude) =>
        ((longitude - OriginLongitude) * MetresPerDegreeLongitude, (latitude - OriginLatitude) * MetresPerDegreeLatitude);

    public static (double Latitude, double Longitude) ToDegrees(double x, double y) =>
        (OriginLatitude + (y / MetresPerDegreeLatitude), OriginLongitude + (x / MetresPerDegreeLongitude));
}
