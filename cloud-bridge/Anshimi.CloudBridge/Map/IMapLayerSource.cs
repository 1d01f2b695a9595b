namespace Anshimi.CloudBridge.Map;

/// <summary>
/// A layer of points on the console map besides devices and alarms, e.g. active escorts (귀가모니터링) or
/// streetlights (스마트보안등). Register any number with <c>services.AddSingleton&lt;IMapLayerSource, ...&gt;()</c>;
/// <see cref="EscortMapLayer"/> and <see cref="LightMapLayer"/> are registered with the escorts (<c>AddEscorts</c>)
/// and are simply empty without active sessions or a streetlights file. The map endpoint filters markers by
/// <see cref="MapMarker.DistrictCode"/> for the signed-in operator, so a source returns every marker it has.
/// </summary>
public interface IMapLayerSource
{
    /// <summary>Layer name the console groups by: "escorts" or "lights" are drawn with their own symbols.</summary>
    string Layer { get; }

    Task<IReadOnlyList<MapMarker>> GetMarkersAsync(CancellationToken cancellationToken);
}

/// <summary>
/// One point. <paramref name="State"/> is free text the console shows (e.g. "escort", "emergency", "fault");
/// <paramref name="DistrictCode"/> is the 자치구 code (SIG_CD) that decides who may see it.
/// </summary>
public sealed record MapMarker(string Id, double Lat, double Lon, string DistrictCode, string State);
