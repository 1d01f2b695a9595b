using NetTopologySuite.Geometries;
using NetTopologySuite.Geometries.Prepared;

namespace Anshimi.Geo;

/// <summary>One of Seoul's 25 autonomous districts (자치구), each with its own CCTV control center.</summary>
public sealed class District
{
    internal District(string code, string nameKo, string nameEn, Geometry geometry)
    {
        Code = code;
        NameKo = nameKo;
        NameEn = nameEn;
        Geometry = geometry;
        Prepared = PreparedGeometryFactory.Prepare(geometry);
    }

    /// <summary>The national district code (SIG_CD), e.g. "11680" for Gangnam-gu.</summary>
    public string Code { get; }

    public string NameKo { get; }

    public string NameEn { get; }

    /// <summary>Boundary in WGS84; X is longitude, Y is latitude.</summary>
    public Geometry Geometry { get; }

    internal IPreparedGeometry Prepared { get; }

    public override string ToString() => NameKo + " " + NameEn + " (" + Code + ")";
}
