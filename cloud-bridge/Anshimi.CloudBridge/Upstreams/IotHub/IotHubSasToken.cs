using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Anshimi.CloudBridge.Upstreams.IotHub;

/// <summary>
/// IoT Hub device credentials for its MQTT endpoint: user name <c>{hub}/{deviceId}/?api-version=2021-04-12</c>
/// and a SAS token <c>SharedAccessSignature sr={url-encoded resource}&amp;sig={url-encoded base64 HMAC-SHA256}&amp;se={expiry}</c>,
/// where the resource is <c>{hub}/devices/{deviceId}</c> and the signed text is the encoded resource,
/// a line feed and the expiry in Unix seconds, under the base64-decoded device key.
/// </summary>
public static class IotHubSasToken
{
    public const string ApiVersion = "2021-04-12";

    public static string Username(string hostName, string deviceId) => $"{hostName}/{deviceId}/?api-version={ApiVersion}";

    public static string Create(string hostName, string deviceId, string base64Key, DateTimeOffset expiry)
    {
        string resource = Uri.EscapeDataString($"{hostName}/devices/{deviceId}");
        string se = expiry.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        byte[] mac = HMACSHA256.HashData(Convert.FromBase64String(base64Key), Encoding.UTF8.GetBytes(resource + "\n" + se));
        return $"SharedAccessSignature sr={resource}&sig={Uri.EscapeDataString(Convert.ToBase64String(mac))}&se={se}";
    }

    /// <summary>
    /// The device-to-cloud topic with a property bag: <c>$.mid</c> (message id) is the alarm key, so the
    /// hub and its consumers see repetitions as one message; content type and encoding say it is UTF-8 JSON.
    /// </summary>
    public static string EventsTopic(string deviceId, string messageId, bool test) =>
        $"devices/{deviceId}/messages/events/$.mid={Uri.EscapeDataString(messageId)}&$.ct=application%2Fjson&$.ce=utf-8&test={(test ? "true" : "false")}";
}
