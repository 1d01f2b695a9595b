namespace Anshimi.CloudBridge.Devices;

/// <summary>Device health panel settings; bound from configuration section "DeviceHealth".</summary>
public sealed class DeviceHealthOptions
{
    public const string SectionName = "DeviceHealth";

    /// <summary>A gateway with no heartbeat for this long is shown as down (a few heartbeat intervals).</summary>
    public TimeSpan GatewayDownAfter { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Below this battery percentage a device counts as low even if it has not flagged it.</summary>
    public int LowBatteryPercent { get; set; } = 20;
}
