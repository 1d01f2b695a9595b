using Anshimi.Geo;

namespace Anshimi.CloudBridge.Districts;

/// <summary>
/// Routes a site to the district control center that owns it ("unknown" outside Seoul) and names the
/// neighbourhood (행정동) it lies in, when the neighbourhood boundaries are loaded.
/// </summary>
public sealed class DistrictDirectory
{
    public const string UnknownCode = "unknown";

    private readonly SeoulDistricts _districts;
    private readonly SeoulNeighbourhoods? _neighbourhoods;

    public DistrictDirectory(SeoulDistricts districts, SeoulNeighbourhoods? neighbourhoods = null)
    {
        _districts = districts;
        _neighbourhoods = neighbourhoods;
    }

    public static DistrictDirectory Load(string configuredPath, string? neighbourhoodsPath = null) =>
        new(SeoulDistricts.Load(ResolvePath(configuredPath)),
            string.IsNullOrWhiteSpace(neighbourhoodsPath) ? null : SeoulNeighbourhoods.Load(ResolvePath(neighbourhoodsPath, "CloudBridge:NeighbourhoodsGeoJson")));

    /// <summary>The district code (SIG_CD) for a coordinate; <see cref="UnknownCode"/> when it is outside Seoul.</summary>
    public string Resolve(double latitude, double longitude) => _districts.Locate(latitude, longitude)?.Code ?? UnknownCode;

    /// <summary>The district and the neighbourhood (null outside every one, or when none are loaded) of a site.</summary>
    public SiteArea Locate(double latitude, double longitude) =>
        new(Resolve(latitude, longitude), _neighbourhoods?.Locate(latitude, longitude)?.Code);

    public DistrictName NameOf(string code)
    {
        District? district = _districts.ByCode(code);
        return district is null
            ? new DistrictName(UnknownCode, "서울 외 지역", "Outside Seoul")
            : new DistrictName(district.Code, district.NameKo, district.NameEn);
    }

    /// <summary>The neighbourhood by its code, or null for no code or one the loaded boundaries do not know.</summary>
    public NeighbourhoodName? NeighbourhoodOf(string? code) =>
        code is null || _neighbourhoods?.ByCode(code) is not { } dong ? null : NameOf(dong);

    /// <summary>The neighbourhood a coordinate lies in, or null.</summary>
    public NeighbourhoodName? NeighbourhoodAt(double latitude, double longitude) =>
        _neighbourhoods?.Locate(latitude, longitude) is { } dong ? NameOf(dong) : null;

    public IEnumerable<DistrictName> All => _districts.All.Select(d => new DistrictName(d.Code, d.NameKo, d.NameEn));

    /// <summary>Every loaded neighbourhood, by code.</summary>
    public IEnumerable<NeighbourhoodName> Neighbourhoods =>
        (_neighbourhoods?.All ?? []).OrderBy(d => d.Code, StringComparer.Ordinal).Select(NameOf);

    /// <summary>The district boundaries as loaded, for data keyed by district name (the CCTV export).</summary>
    internal SeoulDistricts Seoul => _districts;

    /// <summary>The boundaries themselves (for drawing the map).</summary>
    public IReadOnlyList<District> Boundaries => _districts.All;

    /// <summary>Finds the file the way an operator expects: as given, then beside the installed application.</summary>
    /// <param name="setting">The configuration key the path came from, named in the errors.</param>
    internal static string ResolvePath(string configuredPath, string setting = "CloudBridge:DistrictsGeoJson")
    {
        if (string.IsNullOrWhiteSpace(configuredPath))
        {
            throw new InvalidOperationException(setting + " is not set.");
        }

        if (Path.IsPathRooted(configuredPath) || File.Exists(configuredPath))
        {
            return Path.GetFullPath(configuredPath);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.GetFullPath(Path.Combine(dir.FullName, configuredPath));
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException(
            "Data file not found: " + setting + " = " + configuredPath +
            " (tried the working directory and every parent of " + AppContext.BaseDirectory + ").",
            configuredPath);
    }

    private static NeighbourhoodName NameOf(AdminDong dong) => new(dong.Code, dong.NameKo, dong.FullNameKo, dong.DistrictCode);
}

public sealed record DistrictName(string Code, string NameKo, string NameEn);

/// <summary>
/// A neighbourhood (행정동) as operators name it: the code (adm_cd2), its own name ("화양동") and the published full name
/// ("서울특별시 광진구 화양동"). The boundary file has no English names; the Korean name is the romanisation's source.
/// </summary>
public sealed record NeighbourhoodName(string Code, string NameKo, string FullNameKo, string DistrictCode);

/// <summary>Where a site lies: its district code (or <see cref="DistrictDirectory.UnknownCode"/>) and neighbourhood code (or null).</summary>
public readonly record struct SiteArea(string DistrictCode, string? NeighbourhoodCode);
