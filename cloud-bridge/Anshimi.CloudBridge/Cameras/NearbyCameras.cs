using Anshimi.CloudBridge.Districts;
using Anshimi.Geo;
using Microsoft.Extensions.Options;

namespace Anshimi.CloudBridge.Cameras;

/// <summary>A camera point near an alarm, as the console, the API and the upstream receivers see it.</summary>
/// <param name="Metres">Great-circle distance from the site, rounded to the metre.</param>
/// <param name="Label">Lot address and camera label as the city publishes it.</param>
/// <param name="Cameras">How many cameras stand at the point.</param>
public sealed record NearbyCameraView(int Metres, string Label, int Cameras, double Lat, double Lon, string DistrictCode);

/// <summary>
/// The linked CCTV points nearest a site, so the district center can put them on its video wall at once. Looking
/// them up is not a privacy event (they are public infrastructure); which district's points a caller sees is.
/// </summary>
public sealed class NearbyCameras
{
    private readonly AnshimiCameras _cameras;
    private readonly CameraOptions _options;

    public NearbyCameras(AnshimiCameras cameras, IOptions<CameraOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _cameras = cameras;
        _options = options.Value;
    }

    /// <summary>Loads the configured file; a malformed one throws <see cref="FormatException"/> naming the line.</summary>
    public static AnshimiCameras Load(string configuredPath, DistrictDirectory districts)
    {
        ArgumentNullException.ThrowIfNull(districts);
        return AnshimiCameras.Load(DistrictDirectory.ResolvePath(configuredPath, "Cameras:File"), districts.Seoul);
    }

    /// <summary>Nearest first, within the configured radius and count, only points in a district <paramref name="canSee"/> admits.</summary>
    public IReadOnlyList<NearbyCameraView> Around(double latitude, double longitude, Func<string, bool> canSee)
    {
        ArgumentNullException.ThrowIfNull(canSee);
        return _cameras.Nearby(latitude, longitude, _options.RadiusMetres, _options.MaxPerAlarm, c => canSee(c.DistrictCode))
            .Select(c => new NearbyCameraView((int)Math.Round(c.Metres), c.Camera.Label, c.Camera.Cameras, c.Camera.Latitude, c.Camera.Longitude, c.Camera.DistrictCode))
            .ToList();
    }
}
