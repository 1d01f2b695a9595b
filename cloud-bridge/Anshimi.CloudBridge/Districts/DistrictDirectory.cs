using Anshimi.Geo;

namespace Anshimi.CloudBridge.Districts;

/// <summary>Routes a site to the district control center that owns it; "unknown" outside Seoul.</summary>
public sealed class DistrictDirectory
{
    public const string UnknownCode = "unknown";

    private readonly SeoulDistricts _districts;

    public DistrictDirectory(SeoulDistricts districts)
    {
        _districts = districts;
    }

    public static DistrictDirectory Load(string configuredPath) => new(SeoulDistricts.Load(ResolvePath(configuredPath)));

    /// <summary>The district code (SIG_CD) for a coordinate; <see cref="UnknownCode"/> when it is outside Seoul.</summary>
    public string Resolve(double latitude, double longitude) => _districts.Locate(latitude, longitude)?.Code ?? UnknownCode;

    public DistrictName NameOf(string code)
    {
        District? district = _districts.ByCode(code);
        return district is null
            ? new DistrictName(UnknownCode, "서울 외 지역", "Outside Seoul")
            : new DistrictName(district.Code, district.NameKo, district.NameEn);
    }

    public IEnumerable<DistrictName> All => _districts.All.Select(d => new DistrictName(d.Code, d.NameKo, d.NameEn));

    /// <summary>The boundaries themselves (for drawing the map).</summary>
    public IReadOnlyList<District> Boundaries => _districts.All;

    /// <summary>Finds the file the way an operator expects: as given, then beside the installed application.</summary>
    internal static string ResolvePath(string configuredPath)
    {
        if (string.IsNullOrWhiteSpace(configuredPath))
        {
            throw new InvalidOperationException("CloudBridge:DistrictsGeoJson is not set.");
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
            "District boundaries not found: CloudBridge:DistrictsGeoJson = " + configuredPath +
            " (tried the working directory and every parent of " + AppContext.BaseDirectory + ").",
            configuredPath);
    }
}

public sealed record DistrictName(string Code, string NameKo, string NameEn);
