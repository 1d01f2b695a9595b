namespace Anshimi.CloudBridge.Cameras;

/// <summary>The Anshimi CCTV points shown around an alarm; bound from configuration section "Cameras".</summary>
public sealed class CameraOptions
{
    public const string SectionName = "Cameras";

    /// <summary>
    /// The city's export of CCTV points linked to Anshimi (CSV <c>district,address,lat,lon,cameras</c>). A relative
    /// path is tried against the working directory and then each parent of the application directory.
    /// </summary>
    public string File { get; set; } = "../shared/data/seoul-anshimi-cctv.csv";

    /// <summary>How far from the site a camera may stand, in metres.</summary>
    public double RadiusMetres { get; set; } = 150;

    /// <summary>At most this many points per alarm, nearest first.</summary>
    public int MaxPerAlarm { get; set; } = 10;
}
