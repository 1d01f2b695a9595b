using Anshimi.CloudBridge.Devices;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Streetlights;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Map;

/// <summary>
/// Every smart streetlight (스마트보안등) with what matters most about it now, in this order: a lamp fault its
/// gateway reported, blinking for an emergency, lit for an escort, its last command not confirmed, else idle.
/// Built from memory plus one query for lamp faults, so a city of 20,000 lights stays cheap to redraw.
/// </summary>
public sealed class LightMapLayer : IMapLayerSource
{
    public const string LayerName = "lights";

    public const string Fault = "fault";
    public const string Emergency = "emergency";
    public const string Escort = "escort";
    public const string Failed = "failed";
    public const string Idle = "idle";

    private readonly StreetlightDirectory _lights;
    private readonly EscortPlanner _planner;
    private readonly LightOutcomeLog _outcomes;
    private readonly DeviceHealthStore _health;

    public LightMapLayer(StreetlightDirectory lights, EscortPlanner planner, LightOutcomeLog outcomes, DeviceHealthStore health)
    {
        _lights = lights;
        _planner = planner;
        _outcomes = outcomes;
        _health = health;
    }

    public string Layer => LayerName;

    public async Task<IReadOnlyList<MapMarker>> GetMarkersAsync(CancellationToken cancellationToken)
    {
        if (_lights.Count == 0)
        {
            return [];
        }

        var faults = new HashSet<uint>();
        foreach (string id in await _health.ListLampFaultsAsync(cancellationToken))
        {
            if (DeviceIdText.TryParse(id, out uint light))
            {
                faults.Add(light);
            }
        }

        IReadOnlyDictionary<int, string> held = _planner.HeldLights();
        var markers = new List<MapMarker>(_lights.Count);
        for (int i = 0; i < _lights.Count; i++)
        {
            Streetlight light = _lights[i];
            markers.Add(new MapMarker(light.IdText, light.Latitude, light.Longitude, light.DistrictCode, StateOf(i, light.Id, faults, held)));
        }

        return markers;
    }

    private string StateOf(int index, uint id, HashSet<uint> faults, IReadOnlyDictionary<int, string> held)
    {
        if (faults.Contains(id))
        {
            return Fault;
        }

        if (held.TryGetValue(index, out string? mode))
        {
            return mode == LightModeName.Emergency ? Emergency : Escort;
        }

        // Superseded or confirmed is not a failure; only a light that never took its command, or is unknown to its gateway.
        return _outcomes.Latest(id)?.Outcome is LightOutcomeName.Expired or LightOutcomeName.UnknownLight ? Failed : Idle;
    }
}
