using System.Globalization;
using System.Text.RegularExpressions;
using Anshimi.Gateway.Storage;
using Anshimi.Geo;

namespace Anshimi.Gateway.Provisioning;

/// <summary>A 행정동 as the installer is told it: code (adm_cd2), own name ("화양동") and full name.</summary>
public sealed record NeighbourhoodLabel(string Code, string NameKo, string FullNameKo);

/// <summary>One field that failed validation: the column / field name and why.</summary>
public sealed record FieldProblem(string Field, string Code, string Message);

/// <summary>
/// What a site binding must satisfy: a known kind, an address without phone numbers, coordinates
/// inside one of Seoul's districts (which gives the district code), and a pseudonymous reference —
/// never a name or phone number; the gateway stores no personal data.
/// </summary>
public sealed partial class SiteRules(SeoulDistricts districts, SeoulNeighbourhoods? neighbourhoods = null)
{
    /// <summary>The 행정동 a site lies in, or null outside every one or when no boundaries are configured.</summary>
    public NeighbourhoodLabel? NeighbourhoodAt(double latitude, double longitude) =>
        neighbourhoods?.Locate(latitude, longitude) is { } dong ? new NeighbourhoodLabel(dong.Code, dong.NameKo, dong.FullNameKo) : null;

    public static readonly string[] Kinds = ["home", "shop", "pole"];

    public const int MaxAddressLength = 200;

    /// <summary>
    /// Validates raw text fields (as typed or read from CSV). Returns the binding, or null with the
    /// problems in field order.
    /// </summary>
    public SiteBinding? Check(string? kind, string? address, string? latitude, string? longitude, string? reference, string? expectedDistrict, List<FieldProblem> problems)
    {
        int before = problems.Count;
        kind = kind?.Trim().ToLowerInvariant();
        if (kind is null || !Kinds.Contains(kind))
        {
            problems.Add(new FieldProblem("site_kind", "bad_kind", "must be home, shop or pole"));
        }

        address = address?.Trim();
        if (string.IsNullOrEmpty(address) || address.Length > MaxAddressLength || address.Any(char.IsControl))
        {
            problems.Add(new FieldProblem("address", "bad_address", "must be 1-" + MaxAddressLength + " characters on one line"));
        }
        else if (LooksLikePhone(address))
        {
            problems.Add(new FieldProblem("address", "personal_data", "looks like a phone number; no personal data on the gateway"));
        }

        bool latOk = TryCoordinate(latitude, -90, 90, out double lat);
        bool lonOk = TryCoordinate(longitude, -180, 180, out double lon);
        if (!latOk)
        {
            problems.Add(new FieldProblem("latitude", "bad_number", "must be a decimal latitude, e.g. 37.5665"));
        }

        if (!lonOk)
        {
            problems.Add(new FieldProblem("longitude", "bad_number", "must be a decimal longitude, e.g. 126.9780"));
        }

        District? district = latOk && lonOk ? districts.Locate(lat, lon) : null;
        if (latOk && lonOk && district is null)
        {
            problems.Add(new FieldProblem("latitude", "outside_seoul", "the point " + lat.ToString(CultureInfo.InvariantCulture) + ", " + lon.ToString(CultureInfo.InvariantCulture) + " is not inside a Seoul district"));
        }
        else if (district is not null && !string.IsNullOrWhiteSpace(expectedDistrict) && expectedDistrict.Trim() != district.Code)
        {
            problems.Add(new FieldProblem("district_code", "district_mismatch", "the coordinates lie in " + district.NameEn + " (" + district.Code + "), not " + expectedDistrict.Trim()));
        }

        reference = reference?.Trim();
        if (reference is null || !ReferencePattern().IsMatch(reference))
        {
            problems.Add(new FieldProblem("site_ref", "bad_reference", "must be a pseudonymous code of 3-32 letters, digits, '-' or '_' (no names)"));
        }
        else if (LooksLikePhone(reference))
        {
            problems.Add(new FieldProblem("site_ref", "personal_data", "looks like a phone number; use a pseudonymous code"));
        }

        return problems.Count > before ? null : new SiteBinding(kind!, address!, lat, lon, reference!, district!.Code);
    }

    private static bool TryCoordinate(string? text, double min, double max, out double value) =>
        double.TryParse(text?.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value) && value >= min && value <= max;

    /// <summary>Nine or more digits in a row, spaces and dashes aside: a phone number, not an address or code.</summary>
    private static bool LooksLikePhone(string text) => PhonePattern().IsMatch(text);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{2,31}$")]
    private static partial Regex ReferencePattern();

    [GeneratedRegex(@"\d(?:[\s-]?\d){8,}")]
    private static partial Regex PhonePattern();
}
