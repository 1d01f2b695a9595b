using System.Globalization;
using System.Text;
using Anshimi.CloudBridge.Districts;
using NetTopologySuite.Geometries;

namespace Anshimi.CloudBridge.Map;

/// <summary>
/// Seoul's district boundaries as SVG paths, projected once (equirectangular, scaled by cos(latitude)), so the
/// console draws the map offline with no tile server. Markers use the same <see cref="Projection"/>.
/// </summary>
public sealed class DistrictOutlines
{
    private const double Width = 1000;

    public DistrictOutlines(DistrictDirectory districts)
    {
        ArgumentNullException.ThrowIfNull(districts);
        Envelope bounds = new();
        foreach (var district in districts.Boundaries)
        {
            bounds.ExpandToInclude(district.Geometry.EnvelopeInternal);
        }

        double kx = Width / bounds.Width;
        double ky = kx / Math.Cos(bounds.Centre.Y * Math.PI / 180);
        Projection = new MapProjection(bounds.MinX, bounds.MaxY, kx, ky);
        Height = Math.Ceiling(bounds.Height * ky);
        Districts = districts.Boundaries.Select(d =>
        {
            Point label = d.Geometry.InteriorPoint;
            return new DistrictOutline(d.Code, d.NameKo, d.NameEn, PathOf(d.Geometry), Round(Projection.X(label.X)), Round(Projection.Y(label.Y)));
        }).ToList();
    }

    public MapProjection Projection { get; }

    public double Height { get; }

    public string ViewBox => "0 0 " + Width.ToString(CultureInfo.InvariantCulture) + " " + Height.ToString(CultureInfo.InvariantCulture);

    public IReadOnlyList<DistrictOutline> Districts { get; }

    private string PathOf(Geometry geometry)
    {
        var path = new StringBuilder();
        for (int i = 0; i < geometry.NumGeometries; i++)
        {
            if (geometry.GetGeometryN(i) is not Polygon polygon)
            {
                continue;
            }

            Ring(path, polygon.ExteriorRing);
            foreach (LineString hole in polygon.InteriorRings)
            {
                Ring(path, hole);
            }
        }

        return path.ToString();
    }

    private void Ring(StringBuilder path, LineString ring)
    {
        Coordinate[] points = ring.Coordinates;
        for (int i = 0; i < points.Length; i++)
        {
            path.Append(i == 0 ? 'M' : 'L')
                .Append(Round(Projection.X(points[i].X)).ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(Round(Projection.Y(points[i].Y)).ToString(CultureInfo.InvariantCulture));
        }

        path.Append('Z');
    }

    private static double Round(double value) => Math.Round(value, 1);
}

/// <summary>x = (lon − west)·kx, y = (north − lat)·ky, in the map's viewBox units.</summary>
public sealed record MapProjection(double West, double North, double Kx, double Ky)
{
    public double X(double lon) => (lon - West) * Kx;

    public double Y(double lat) => (North - lat) * Ky;
}

public sealed record DistrictOutline(string Code, string NameKo, string NameEn, string Path, double LabelX, double LabelY);
