using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Anshimi.CloudBridge.Alarms;
using Anshimi.CloudBridge.Upstreams;
using Anshimi.CloudBridge.Upstreams.IotHub;
using Anshimi.Mqtt;
using Anshimi.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.CloudBridge.Tests.Upstreams;

/// <summary>
/// The IoT Hub upstream against a local Mosquitto standing in for the hub: TLS with a test CA, the
/// device's user name and its SAS token as password (the broker lets in only the token this test
/// computed on its own), and an ACL that allows only the device's events topic.
/// </summary>
public sealed class IotHubUpstreamTests
{
    private const string Hub = "anshimi-test.azure-devices.net";
    private const string Device = "cloud-bridge-01";
    private const string Username = "anshimi-test.azure-devices.net/cloud-bridge-01/?api-version=2021-04-12";
    private static readonly string DeviceKey = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_SAS_token_has_the_documented_form_and_its_signature_verifies_with_the_device_key()
    {
        string token = IotHubSasToken.Create(Hub, Device, DeviceKey, T0.AddHours(1));

        Assert.StartsWith("SharedAccessSignature ", token, StringComparison.Ordinal);
        Dictionary<string, string> fields = token["SharedAccessSignature ".Length..].Split('&')
            .Select(f => f.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]);
        Assert.Equal(["sr", "sig", "se"], fields.Keys);
        Assert.Equal("anshimi-test.azure-devices.net%2Fdevices%2Fcloud-bridge-01", fields["sr"]);
        Assert.Equal(T0.AddHours(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), fields["se"]);
        Assert.Equal(ExpectedSignature(fields["sr"], fields["se"]), Uri.UnescapeDataString(fields["sig"]));
        Assert.DoesNotContain('+', fields["sig"]);
        Assert.DoesNotContain('/', fields["sig"]);
        Assert.Equal(Username, IotHubSasToken.Username(Hub, Device));
    }

    [Fact]
    public void A_token_signed_with_another_key_does_not_verify()
    {
        string token = IotHubSasToken.Create(Hub, Device, Convert.ToBase64String(new byte[32]), T0);
        string sig = Uri.UnescapeDataString(token.Split("&sig=")[1].Split('&')[0]);
        Assert.NotEqual(ExpectedSignature("anshimi-test.azure-devices.net%2Fdevices%2Fcloud-bridge-01", T0.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture)), sig);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task An_alarm_is_published_over_TLS_with_the_SAS_token_to_the_device_events_topic_with_its_key_as_message_id()
    {
        using var tls = TestCertificates.Create();
        var clock = new FakeTimeProvider(T0);
        await using MosquittoBroker broker = await StartHubAsync(tls, ExpectedToken(T0 + TimeSpan.FromHours(1)));
        await using Observer observer = await Observer.StartAsync(broker, tls.CaFile);
        await using var upstream = new IotHubUpstream(Options(broker, tls.CaFile), new MqttNetTransportFactory(), clock);

        DeliveryResult result = await upstream.DeliverAsync(Alarm("000000A1:1", test: false), CancellationToken.None);
        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        MqttMessage message = await observer.NextAsync();

        Assert.Equal("devices/cloud-bridge-01/messages/events/$.mid=000000A1%3A1&$.ct=application%2Fjson&$.ce=utf-8&test=false", message.Topic);
        Assert.Equal(Encoding.UTF8.GetBytes("devices/cloud-bridge-01/messages/events/$.mid=000000A1%3A1&$.ct=application%2Fjson&$.ce=utf-8&test=false"), Encoding.UTF8.GetBytes(message.Topic));
        JsonElement body = JsonDocument.Parse(message.Payload).RootElement;
        Assert.Equal("000000A1:1", body.GetProperty("key").GetString());
        Assert.Equal(T0.ToUnixTimeSeconds(), body.GetProperty("sentAt").GetInt64());

        DeliveryResult test = await upstream.DeliverAsync(Alarm("000000A1:2", test: true), CancellationToken.None);
        Assert.Equal(DeliveryOutcome.Delivered, test.Outcome);
        Assert.EndsWith("$.mid=000000A1%3A2&$.ct=application%2Fjson&$.ce=utf-8&test=true", (await observer.NextAsync()).Topic, StringComparison.Ordinal);
        Assert.Equal(1, upstream.TokensIssued);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task A_hub_that_refuses_the_token_is_a_transient_fault_with_the_reason()
    {
        using var tls = TestCertificates.Create();
        await using MosquittoBroker broker = await StartHubAsync(tls, "SharedAccessSignature sr=x&sig=y&se=1");
        await using var upstream = new IotHubUpstream(Options(broker, tls.CaFile), new MqttNetTransportFactory(), new FakeTimeProvider(T0));

        DeliveryResult result = await upstream.DeliverAsync(Alarm("000000A2:1", test: false), CancellationToken.None);

        Assert.Equal(DeliveryOutcome.Transient, result.Outcome);
        Assert.Contains("not authori", result.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("disconnected", upstream.Link, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Before_the_token_expires_the_upstream_reconnects_under_a_fresh_token()
    {
        using var tls = TestCertificates.Create();
        var clock = new FakeTimeProvider(T0);
        await using MosquittoBroker broker = await StartHubAsync(tls, ExpectedToken(T0 + TimeSpan.FromHours(1)));
        await using Observer observer = await Observer.StartAsync(broker, tls.CaFile);
        await using var upstream = new IotHubUpstream(Options(broker, tls.CaFile), new MqttNetTransportFactory(), clock);
        Assert.Equal(DeliveryOutcome.Delivered, (await upstream.DeliverAsync(Alarm("000000A3:1", test: false), CancellationToken.None)).Outcome);
        await observer.NextAsync();

        // 56 minutes on, inside the 5-minute renewal margin: from now on the hub takes only the new token.
        clock.Advance(TimeSpan.FromMinutes(56));
        await SetPasswordAsync(broker, ExpectedToken(clock.GetUtcNow() + TimeSpan.FromHours(1)));

        DeliveryResult result = await upstream.DeliverAsync(Alarm("000000A3:2", test: false), CancellationToken.None);
        Assert.Equal(DeliveryOutcome.Delivered, result.Outcome);
        Assert.EndsWith("$.mid=000000A3%3A2&$.ct=application%2Fjson&$.ce=utf-8&test=false", (await observer.NextAsync()).Topic, StringComparison.Ordinal);
        Assert.Equal(2, upstream.TokensIssued);
    }

    private static IotHubUpstreamOptions Options(MosquittoBroker broker, string caFile) => new()
    {
        Name = "hub",
        HostName = Hub,
        ConnectHost = broker.Host,
        Port = broker.Port,
        DeviceId = Device,
        SharedAccessKey = DeviceKey,
        TlsCaFile = caFile,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        PublishTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>The token, written out here from the documented recipe rather than by the code under test.</summary>
    private static string ExpectedToken(DateTimeOffset expiry)
    {
        const string resource = "anshimi-test.azure-devices.net%2Fdevices%2Fcloud-bridge-01";
        string se = expiry.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        string sig = ExpectedSignature(resource, se).Replace("+", "%2B", StringComparison.Ordinal)
            .Replace("/", "%2F", StringComparison.Ordinal).Replace("=", "%3D", StringComparison.Ordinal);
        return $"SharedAccessSignature sr={resource}&sig={sig}&se={se}";
    }

    private static string ExpectedSignature(string encodedResource, string expiry)
    {
        using var hmac = new HMACSHA256(Convert.FromBase64String(DeviceKey));
        return Convert.ToBase64String(hmac.ComputeHash(Encoding.UTF8.GetBytes(encodedResource + "\n" + expiry)));
    }

    private static async Task<MosquittoBroker> StartHubAsync(TestCertificates tls, string token)
    {
        var options = new MosquittoBrokerOptions();
        options.Users[Username] = token;
        options.Users["observer"] = "observer-password-1";
        options.AclLines.Add("user " + Username);
        options.AclLines.Add($"topic write devices/{Device}/messages/events/#");
        options.AclLines.Add("user observer");
        options.AclLines.Add("topic read devices/#");
        options.ExtraConfigLines.Add("certfile " + tls.ServerCertFile);
        options.ExtraConfigLines.Add("keyfile " + tls.ServerKeyFile);
        return await MosquittoBroker.StartAsync(options);
    }

    private static async Task SetPasswordAsync(MosquittoBroker broker, string token)
    {
        await broker.StopAsync();
        (await ProcessRunner.RunAsync("mosquitto_passwd", ["-b", Path.Combine(broker.Directory, "passwd"), Username, token], TimeSpan.FromSeconds(30), CancellationToken.None)).EnsureSuccess();
        await broker.StartAsync();
    }

    private static AlarmRecord Alarm(string key, bool test) => new(
        key, key.Split(':')[0], uint.Parse(key.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture), "gw-test-01",
        120, 1, 1, "home-panic", "home", 37.5172, 127.0473, "서울특별시 강남구 학동로 426", test, "11680", "01020304", AlarmState.Open,
        T0, T0, []);

    /// <summary>A second client on the broker, subscribed to every device topic; its persistent session outlives a broker restart.</summary>
    private sealed class Observer : IAsyncDisposable
    {
        private readonly MqttSession _client;
        private readonly System.Threading.Channels.Channel<MqttMessage> _messages = System.Threading.Channels.Channel.CreateUnbounded<MqttMessage>();

        private Observer(MqttSession client)
        {
            _client = client;
            _client.AddSubscription("devices/#", MqttQos.AtLeastOnce, (message, _) =>
            {
                _messages.Writer.TryWrite(message);
                return Task.CompletedTask;
            });
        }

        public static async Task<Observer> StartAsync(MosquittoBroker broker, string caFile)
        {
            MqttClientOptions options = broker.ClientOptions("observer");
            options.Host = broker.Host;
            options.TlsCaFile = caFile;
            var observer = new Observer(MqttSession.Create(options));
            await observer._client.ConnectAsync(CancellationToken.None);
            return observer;
        }

        public async Task<MqttMessage> NextAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            return await _messages.Reader.ReadAsync(timeout.Token);
        }

        public ValueTask DisposeAsync() => _client.DisposeAsync();
    }
}
