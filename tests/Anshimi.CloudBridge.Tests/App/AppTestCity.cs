using System.Security.Cryptography;
using System.Text;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Streetlights;

namespace Anshimi.CloudBridge.Tests.App;

/// <summary>
/// A street of 20 lights 30 m apart running east from Seoul City Hall (Jung-gu, 11140): the first ten
/// owned by <see cref="WestGateway"/>, the rest by <see cref="EastGateway"/>; and the bridge settings that use it.
/// </summary>
public static class AppTestCity
{
    public const string WestGateway = "gw-it-01";
    public const string EastGateway = "gw-it-02";
    public const string ClientName = "anshimi-app-test";
    public const string ApiKey = "test-key-7f3a9c2e51d84b06a1e2";
    public const string EscortKeyHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    public const int LightCount = 20;

    /// <summary>The street's district, 중구.</summary>
    public const string District = "11140";
    public const double Spacing = 30;

    private static readonly (double X, double Y) Start = LocalProjection.ToMetres(37.5663, 126.9779);

    /// <summary>The position <paramref name="metres"/> east of the street's start.</summary>
    public static GeoPoint Along(double metres)
    {
        (double lat, double lon) = LocalProjection.ToDegrees(Start.X + metres, Start.Y);
        return new GeoPoint(lat, lon);
    }

    public static string LightId(int index) => Anshimi.Protocol.DeviceIdText.Format(Streetlight.FirstId + (uint)index);

    public static IReadOnlyList<Streetlight> Lights() => Enumerable.Range(0, LightCount)
        .Select(i =>
        {
            GeoPoint p = Along(i * Spacing);
            return new Streetlight(Streetlight.FirstId + (uint)i, District, i < LightCount / 2 ? WestGateway : EastGateway, Math.Round(p.Latitude, 7), Math.Round(p.Longitude, 7));
        })
        .ToList();

    /// <summary>Bridge settings: the street as the lights file, one API client, the escort key.</summary>
    public static Dictionary<string, string?> Settings(string directory, IDictionary<string, string?>? extra = null)
    {
        string lights = Path.Combine(directory, "lights.csv");
        StreetlightFile.Write(lights, Lights());
        var settings = new Dictionary<string, string?>
        {
            ["Escorts:LightsFile"] = lights,
            ["Escorts:EscortKey"] = EscortKeyHex,
            ["AppApi:Clients:0:Name"] = ClientName,
            ["AppApi:Clients:0:KeySha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ApiKey))),
            ["AppApi:Clients:1:Name"] = "other-app",
            ["AppApi:Clients:1:KeySha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("other-" + ApiKey))),
        };
        foreach (KeyValuePair<string, string?> setting in extra ?? new Dictionary<string, string?>())
        {
            settings[setting.Key] = setting.Value;
        }

        return settings;
    }
}
