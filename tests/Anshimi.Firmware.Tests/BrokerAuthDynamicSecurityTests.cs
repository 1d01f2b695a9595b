using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Anshimi.DeviceSim;
using Anshimi.Geo;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream.Provisioning;
using Anshimi.Testing;

namespace Anshimi.Firmware.Tests;

/// <summary>
/// anshimi-sim's dynamic-security batch (the demo's broker accounts) applied to a real Mosquitto with
/// the plugin and the box's listeners: every account works, and each stays inside its own topics.
/// </summary>
[Trait("Category", "Integration")]
public sealed class BrokerAuthDynamicSecurityTests : IAsyncLifetime
{
    private const string ControlTopic = "$CONTROL/dynamic-security/v1";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly Lazy<SeoulDistricts> Districts = new(() => SeoulDistricts.Load(Path.Combine(RepoPaths.SharedData, "seoul-municipalities.geojson")));

    private readonly FleetFile _fleet = FleetGenerator.Generate(3, "gw-dyn", Districts.Value, seed: 5, streetlights: 1);
    private readonly ServiceUser _gateway = new("gateway", Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
    private readonly ServiceUser _cloud = new("cloud", Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
    private readonly List<MqttSession> _clients = [];
    private MosquittoBroker _broker = null!;

    public async Task InitializeAsync() =>
        _broker = await MosquittoBroker.StartAsync(new MosquittoBrokerOptions { DynamicSecurity = true, SiteListeners = true });

    public async Task DisposeAsync()
    {
        foreach (MqttSession client in _clients)
        {
            await client.DisposeAsync();
        }

        await _broker.DisposeAsync();
    }

    [Fact]
    public async Task The_batch_is_accepted_whole_and_gives_streetlights_no_account()
    {
        JsonArray responses = await ApplyBatchAsync();

        Assert.All(responses, r => Assert.Null(r?["error"]));
        JsonArray commands = BrokerAuth.DynamicSecurityBatch(_fleet, [_gateway, _cloud])["commands"]!.AsArray();
        string[] clients = [.. commands.Where(c => c?["command"]?.GetValue<string>() == "createClient").Select(c => c!["username"]!.GetValue<string>())];
        DeviceRecord light = _fleet.Devices.Single(d => d.Profile == StreetlightFleet.Profile);
        Assert.Equal(["gateway", "cloud", .. _fleet.Devices.Where(d => d != light).Select(d => d.DeviceId)], clients);
        Assert.Equal(commands.Count, responses.Count);
    }

    [Fact]
    public async Task Devices_reach_only_their_own_topics_and_services_only_their_roles()
    {
        await ApplyBatchAsync();
        DeviceRecord a = _fleet.Devices[0], b = _fleet.Devices[1];
        var gatewayHeard = new EventRecorder<(string Topic, string Text)>();
        var cloudHeard = new EventRecorder<(string Topic, string Text)>();
        var deviceHeard = new EventRecorder<(string Topic, string Text)>();
        MqttSession gateway = await ConnectAsync(_gateway.Name, _gateway.Password, gatewayHeard);
        await gateway.SubscribeAsync(Topics.AllDeviceUplinks, MqttQos.AtLeastOnce, Heard(gatewayHeard), CancellationToken.None);
        MqttSession cloud = await ConnectAsync(_cloud.Name, _cloud.Password, cloudHeard);
        await Assert.ThrowsAsync<MqttSubscriptionRefusedException>(() => cloud.SubscribeAsync(Topics.AllDeviceUplinks, MqttQos.AtLeastOnce, Heard(cloudHeard), CancellationToken.None));
        await cloud.SubscribeAsync(Topics.GatewayEvents("+"), MqttQos.AtLeastOnce, Heard(cloudHeard), CancellationToken.None);
        MqttSession deviceA = await ConnectAsync(a.DeviceId, a.MqttPassword, deviceHeard);
        await Assert.ThrowsAsync<MqttSubscriptionRefusedException>(() => deviceA.SubscribeAsync(Topics.DeviceDownlink(b.NumericId), MqttQos.AtLeastOnce, Heard(deviceHeard), CancellationToken.None));
        await deviceA.SubscribeAsync(Topics.DeviceDownlink(a.NumericId), MqttQos.AtLeastOnce, Heard(deviceHeard), CancellationToken.None);

        // One publisher's messages arrive in order: once "own" is heard, a forged one before it would have been.
        await Publish(deviceA, Topics.DeviceUplink(b.NumericId), "forged");
        await Publish(deviceA, Topics.DeviceUplink(a.NumericId), "own");
        await gatewayHeard.WaitForAsync(m => m.Text == "own", Wait);
        Assert.Equal([(Topics.DeviceUplink(a.NumericId), "own")], gatewayHeard.Items);

        await Publish(gateway, Topics.DeviceDownlink(b.NumericId), "for b");
        await Publish(gateway, Topics.DeviceDownlink(a.NumericId), "for a");
        await deviceHeard.WaitForAsync(m => m.Text == "for a", Wait);
        Assert.Equal([(Topics.DeviceDownlink(a.NumericId), "for a")], deviceHeard.Items);

        // The cloud service hears gateway events; a device may not publish them.
        await Publish(deviceA, Topics.GatewayEvents(_fleet.GatewayId), "forged event");
        await Publish(gateway, Topics.GatewayEvents(_fleet.GatewayId), "event");
        await cloudHeard.WaitForAsync(m => m.Text == "event", Wait);
        Assert.Equal([(Topics.GatewayEvents(_fleet.GatewayId), "event")], cloudHeard.Items);
    }

    [Fact]
    public async Task A_wrong_password_is_refused()
    {
        await ApplyBatchAsync();
        DeviceRecord a = _fleet.Devices[0];
        MqttClientOptions options = _broker.ClientOptions(null);
        options.Username = a.DeviceId;
        options.Password = a.MqttPassword + "x";
        options.ConnectTimeout = TimeSpan.FromSeconds(5);
        await using MqttSession client = MqttSession.Create(options);

        var error = await Assert.ThrowsAsync<MqttConnectionRefusedException>(() => client.ConnectAsync(CancellationToken.None));
        Assert.Equal(MqttConnectRefusal.NotAuthorized, error.Refusal);
    }

    private async Task<JsonArray> ApplyBatchAsync()
    {
        var answers = new EventRecorder<(string Topic, string Text)>();
        MqttSession admin = await ConnectAsync(_broker.DynamicSecurityAdmin, File.ReadAllText(_broker.DynamicSecurityPasswordFile).Trim(), answers);
        await admin.SubscribeAsync(ControlTopic + "/response", MqttQos.AtLeastOnce, Heard(answers), CancellationToken.None);
        await Publish(admin, ControlTopic, BrokerAuth.DynamicSecurityBatch(_fleet, [_gateway, _cloud]).ToJsonString());
        (_, string text) = await answers.WaitForAsync(_ => true, Wait);
        return JsonNode.Parse(text)!["responses"]!.AsArray();
    }

    private async Task<MqttSession> ConnectAsync(string user, string password, EventRecorder<(string Topic, string Text)> heard)
    {
        MqttClientOptions options = _broker.ClientOptions(null);
        options.Username = user;
        options.Password = password;
        var client = MqttSession.Create(options);
        _clients.Add(client);
        await client.ConnectAsync(CancellationToken.None);
        return client;
    }

    private static MqttSubscriptionHandler Heard(EventRecorder<(string Topic, string Text)> heard) => (message, _) =>
    {
        heard.Add((message.Topic, Encoding.UTF8.GetString(message.Payload)));
        return Task.CompletedTask;
    };

    private static Task Publish(MqttSession client, string topic, string text) =>
        client.PublishAsync(topic, Encoding.UTF8.GetBytes(text), MqttQos.AtLeastOnce, retain: false, CancellationToken.None);
}
