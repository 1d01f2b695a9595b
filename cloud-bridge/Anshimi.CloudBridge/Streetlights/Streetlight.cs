using Anshimi.Protocol;

namespace Anshimi.CloudBridge.Streetlights;

/// <summary>One smart security light (스마트보안등): its BLE device id, district, owning gateway and WGS84 position.</summary>
public sealed record Streetlight(uint Id, string DistrictCode, string GatewayId, double Latitude, double Longitude)
{
    public const uint FirstId = DeviceIdText.FirstStreetlightId;

    public const uint LastId = DeviceIdText.LastStreetlightId;

    public string IdText => DeviceIdText.Format(Id);
}
