using Anshimi.Protocol;

namespace Anshimi.CloudBridge.Streetlights;

/// <summary>One smart security light (스마트보안등): its BLE device id, district, owning gateway and WGS84 position.</summary>
public sealed record Streetlight(uint Id, string DistrictCode, string GatewayId, double Latitude, double Longitude)
{
    /// <summary>Streetlight ids sit in their own range, so they never collide with bells or doorbells.</summary>
    public const uint FirstId = 0x5A000000;

    public const uint LastId = 0x5AFFFFFF;

    public string IdText => DeviceIdText.Format(Id);
}
