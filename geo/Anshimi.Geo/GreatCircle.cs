namespace Anshimi.Geo;

/// <summary>Distances on the WGS84 mean sphere; within a city the error against the ellipsoid is well under 0.5 %.</summary>
public static class GreatCircle
{
    public const double EarthRadiusMetres = 6_371_008.8;

    /// <summary>Haversine distance in metres.</summary>
    public static double Metres(double lat1, double lon1, double lat2, double lon2)
    {
        double phi1 = double.DegreesToRadians(lat1);
        double phi2 = double.DegreesToRadians(lat2);
        double dPhi = phi2 - phi1;
        double dLambda = double.DegreesToRadians(lon2 - lon1);
        double a = (Math.Sin(dPhi / 2) * Math.Sin(dPhi / 2)) + (Math.Cos(phi1) * Math.Cos(phi2) * Math.Sin(dLambda / 2) * Math.Sin(dLambda / 2));
        return 2 * EarthRadiusMetres * Math.Asin(Math.Min(1, Math.Sqrt(a)));
    }
}
