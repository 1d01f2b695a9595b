using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.CloudBridge.Upstreams;

namespace Anshimi.CloudBridge.Tests.Upstreams;

/// <summary>Upstream configuration for a test host, and reading what <c>/api/upstreams</c> reports.</summary>
public sealed class UpstreamSettings
{
    private int _dc09;
    private int _webhooks;

    /// <summary>Short backoff so retries happen within a test.</summary>
    public Dictionary<string, string?> Values { get; } = new()
    {
        ["Upstreams:RetryInterval"] = "00:00:00.100",
        ["Upstreams:RetryMaxInterval"] = "00:00:00.500",
        ["Upstreams:IdlePollInterval"] = "00:00:01",
    };

    public UpstreamSettings Dc09(string name, int port, string? keyHex = null, TimeSpan? supervision = null)
    {
        string p = string.Create(CultureInfo.InvariantCulture, $"Upstreams:Dc09:{_dc09++}:");
        Values[p + "Name"] = name;
        Values[p + "Host"] = "127.0.0.1";
        Values[p + "Port"] = port.ToString(CultureInfo.InvariantCulture);
        Values[p + "ReceiverNumber"] = "1";
        Values[p + "DefaultAccount"] = "9999";
        Values[p + "AccountsByDistrict:11680"] = "1168";
        Values[p + "AccountsByDistrict:11140"] = "1114";
        Values[p + "AccountsByDevice:00c0ffee"] = "5001";
        Values[p + "ConnectTimeout"] = "00:00:01";
        Values[p + "AckTimeout"] = "00:00:02";
        Values[p + "KeyHex"] = keyHex;
        Values[p + "SupervisionInterval"] = supervision?.ToString("c", CultureInfo.InvariantCulture);
        return this;
    }

    /// <summary>Adds a receiver to the last DC-09 upstream's <c>Fallbacks</c>, tried after the ones before it.</summary>
    public UpstreamSettings Fallback(int port)
    {
        string p = string.Create(CultureInfo.InvariantCulture, $"Upstreams:Dc09:{_dc09 - 1}:Fallbacks:");
        int index = Values.Keys.Count(k => k.StartsWith(p, StringComparison.Ordinal) && k.EndsWith(":Host", StringComparison.Ordinal));
        Values[string.Create(CultureInfo.InvariantCulture, $"{p}{index}:Host")] = "127.0.0.1";
        Values[string.Create(CultureInfo.InvariantCulture, $"{p}{index}:Port")] = port.ToString(CultureInfo.InvariantCulture);
        Values[string.Create(CultureInfo.InvariantCulture, $"{p}{index}:ReceiverNumber")] = "2";
        return this;
    }

    /// <summary>Sets one setting of the last DC-09 upstream, e.g. <c>AckTimeout</c>.</summary>
    public UpstreamSettings Dc09Setting(string key, string value)
    {
        Values[string.Create(CultureInfo.InvariantCulture, $"Upstreams:Dc09:{_dc09 - 1}:{key}")] = value;
        return this;
    }

    public UpstreamSettings Webhook(string name, Uri url, string secret)
    {
        string p = string.Create(CultureInfo.InvariantCulture, $"Upstreams:Webhooks:{_webhooks++}:");
        Values[p + "Name"] = name;
        Values[p + "Url"] = url.ToString();
        Values[p + "Secret"] = secret;
        Values[p + "Timeout"] = "00:00:02";
        return this;
    }
}

public static class UpstreamApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<UpstreamStatusView> StatusAsync(CloudBridgeHost host, string name)
    {
        List<UpstreamStatusView>? views = await host.Http.GetFromJsonAsync<List<UpstreamStatusView>>("/api/upstreams", Json);
        return Assert.Single(views!, v => v.Name == name);
    }
}
