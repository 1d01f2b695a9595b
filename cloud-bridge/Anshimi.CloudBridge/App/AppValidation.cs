using System.Globalization;
using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Escorts;

namespace Anshimi.CloudBridge.App;

/// <summary>Field checks for app requests; collects every problem so the app sees them all at once.</summary>
internal sealed class AppValidation
{
    private readonly DistrictDirectory _districts;
    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public AppValidation(DistrictDirectory districts)
    {
        _districts = districts;
    }

    public bool IsValid => _errors.Count == 0;

    public Dictionary<string, string[]> Errors => _errors;

    public void Fail(string field, string message) =>
        _errors[field] = _errors.TryGetValue(field, out string[]? existing) ? [.. existing, message] : [message];

    /// <summary>A position inside Seoul, or null after recording why not.</summary>
    public GeoPoint? InSeoul(string field, double? lat, double? lon)
    {
        if (lat is null || lon is null)
        {
            Fail(field, "lat and lon are required.");
            return null;
        }

        if (!double.IsFinite(lat.Value) || !double.IsFinite(lon.Value) || Math.Abs(lat.Value) > 90 || Math.Abs(lon.Value) > 180)
        {
            Fail(field, "lat and lon must be decimal degrees.");
            return null;
        }

        if (_districts.Resolve(lat.Value, lon.Value) == DistrictDirectory.UnknownCode)
        {
            Fail(field, string.Create(CultureInfo.InvariantCulture, $"({lat.Value}, {lon.Value}) is outside Seoul."));
            return null;
        }

        return new GeoPoint(lat.Value, lon.Value);
    }

    public GeoPoint? InSeoul(string field, GeoPointDto? point)
    {
        if (point is null)
        {
            Fail(field, "required.");
            return null;
        }

        return InSeoul(field, point.Lat, point.Lon);
    }
}
