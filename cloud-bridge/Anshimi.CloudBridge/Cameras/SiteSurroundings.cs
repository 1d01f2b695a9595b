using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Districts;

namespace Anshimi.CloudBridge.Cameras;

/// <summary>What an alarm receiver is told about the place: its neighbourhood and the cameras nearest it.</summary>
public sealed record Surroundings(NeighbourhoodView? Neighbourhood, IReadOnlyList<NearbyCameraView> Cameras);

/// <summary>
/// Describes an alarm's site for the upstream receivers. A receiver serves the whole city (or routes by district
/// itself), so it gets every district's cameras within the radius.
/// </summary>
public sealed class SiteSurroundings(DistrictDirectory districts, NearbyCameras cameras)
{
    public Surroundings Of(AlarmRecord alarm)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        return new Surroundings(
            NeighbourhoodView.Of(districts.NeighbourhoodOf(alarm.NeighbourhoodCode)),
            cameras.Around(alarm.Latitude, alarm.Longitude, static _ => true));
    }
}
