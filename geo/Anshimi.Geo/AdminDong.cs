using NetTopologySuite.Geometries;
using NetTopologySuite.Geometries.Prepared;

namespace Anshimi.Geo;

/// <summary>
/// An administrative neighbourhood (행정동), the unit below the district that operators and dispatchers name a
/// place by ("광진구 화양동"). The boundary file carries Korean names only.
/// </summary>
public sealed class AdminDong
{
    internal AdminDong(string code, string nameKo, string fullNameKo, string districtCode, string districtNameKo, Geometry geometry)
    {
        Code = code;
        NameKo = nameKo;
        FullNameKo = fullNameKo;
        DistrictCode = districtCode;
        DistrictNameKo = districtNameKo;
        Geometry = geometry;
        Prepared = PreparedGeometryFactory.Prepare(geometry);
    }

    /// <summary>The 10-digit administrative code (adm_cd2), e.g. "1111053000" for 종로구 사직동.</summary>
    public string Code { get; }

    /// <summary>The neighbourhood's own name, e.g. "사직동".</summary>
    public string NameKo { get; }

    /// <summary>As published (adm_nm), e.g. "서울특별시 종로구 사직동".</summary>
    public string FullNameKo { get; }

    /// <summary>The district code (sgg, = SIG_CD) the neighbourhood belongs to.</summary>
    public string DistrictCode { get; }

    public string DistrictNameKo { get; }

    /// <summary>Boundary in WGS84; X is longitude, Y is latitude.</summary>
    public Geometry Geometry { get; }

    internal IPreparedGeometry Prepared { get; }

    public override string ToString() => FullNameKo + " (" + Code + ")";
}
