using Anshimi.CloudBridge.Streetlights;

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

    public static IReadOnlyList<LightsFileRow> Pick(IReadOnlyList<LightsFileRow> lights, (double Latitude, double Longitude) centre, int count)
    {
        ArgumentNullException.ThrowIfNull(lights);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var poles = new HashSet<(double, double)>();
        List<LightsFileRow> picked = [.. lights
            .Where(l => poles.Add((l.Latitude, l.Longitude)))
            .OrderBy(l => WalkRoute.Metres(centre, (l.Latitude, l.Longitude)))
            .ThenBy(l => l.Line)
            .Take(count)];
        return picked.Count == count
            ? picked
            : throw new ArgumentException($"the lights file has only {picked.Count} poles, {count} wanted");
    }
}
