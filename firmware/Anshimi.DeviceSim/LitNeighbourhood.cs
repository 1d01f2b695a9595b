using Anshimi.CloudBridge.Streetlights;
using Anshimi.Protocol.Upstream;

namespace Anshimi.DeviceSim;

/// <summary>
/// The demo's lit neighbourhood: the real security lights (보안등) of a district's file nearest a point, one smart
/// light per pole (rows at the very same spot are lamps of one pole), nearest first — so the first is where a walk
/// through the neighbourhood starts and the last is its far edge. The same file and point give the same lights.
/// </summary>
public static class LitNeighbourhood
{
    /// <summary>광진구 화양동, the alleys north of Konkuk University station: about 300 lights within 250 m.</summary>
    public static readonly (double Latitude, double Longitude) DefaultCentre = (37.5445, 127.0700);

    public const int DefaultCount = 300;

    /// <summary>
    /// The <paramref name="count"/> poles of the security-lights file at <paramref name="path"/> nearest
    /// <paramref name="centre"/>, as streetlight sites with the light's address and name; the file is checked as the
    /// cloud bridge checks it (<see cref="LightsFileReader"/>).
    /// </summary>
    public static IReadOnlyList<SiteInfo> Pick(string path, (double Latitude, double Longitude) centre, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        (LightsFileFormat format, IReadOnlyList<LightsFileRow> lights) = LightsFileReader.Read(path);
        if (format != LightsFileFormat.SecurityLights)
        {
            throw new FormatException(path + " is not a security-lights file (header " + LightsFileReader.SecurityLightsHeader + ")");
        }

        var poles = new HashSet<(double, double)>();
        List<SiteInfo> picked = [.. lights
            .Where(l => poles.Add((l.Latitude, l.Longitude)))
            .OrderBy(l => WalkRoute.Metres(centre, (l.Latitude, l.Longitude)))
            .ThenBy(l => l.Line)
            .Take(count)
            .Select(l => new SiteInfo(StreetlightFleet.Profile, l.Latitude, l.Longitude, (l.Address.Length > 0 ? l.Address + " " : "") + "보안등 " + l.Name))];
        return picked.Count == count
            ? picked
            : throw new ArgumentException($"{path} has only {picked.Count} poles, {count} wanted");
    }
}
