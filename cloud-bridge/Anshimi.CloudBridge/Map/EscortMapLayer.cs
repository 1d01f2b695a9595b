using Anshimi.CloudBridge.Districts;
using Anshimi.CloudBridge.Escorts;
using Anshimi.Protocol;

namespace Anshimi.CloudBridge.Map;

/// <summary>
/// Active return-home escorts (귀가모니터링): one marker per session at the walker's last reported position,
/// in the district that position lies in. The marker is named by the session number only, never the app
/// client or anything about the resident.
/// </summary>
public sealed class EscortMapLayer : IMapLayerSource
{
    public const string LayerName = "escorts";
    public const string EscortState = "escort";

    /// <summary>Decimal places of latitude and longitude shown: 4 is about 10 m.</summary>
    public const int ShownDecimals = 4;

    private readonly EscortSessions _sessions;
    private readonly DistrictDirectory _districts;

    public EscortMapLayer(EscortSessions sessions, DistrictDirectory districts)
    {
        _sessions = sessions;
        _districts = districts;
    }

    public string Layer => LayerName;

    public async Task<IReadOnlyList<MapMarker>> GetMarkersAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<MapMarker> markers = (await _sessions.ActivePositionsAsync(cancellationToken))
            .Select(p =>
            {
                (double lat, double lon) = (p.Position.Latitude, p.Position.Longitude);

                // Operators need the street, not the doorstep: ~10 m is enough to send help and reveals less of the walk.
                return new MapMarker(
                    DeviceIdText.Format(p.SessionId), Math.Round(lat, ShownDecimals), Math.Round(lon, ShownDecimals), _districts.Resolve(lat, lon), EscortState);
            })
            .OrderBy(m => m.Id, StringComparer.Ordinal)
            .ToList();
        return markers;
    }
}
