using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.CloudBridge.Escorts;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.App;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Storage;

/// <summary>
/// Two whole bridge hosts on one PostgreSQL database and one real Mosquitto, with the app back end spreading an escort's
/// requests over both: the light commands the gateways receive are those of one bridge. Each light ahead is commanded into
/// escort once and each light passed released once however the fixes alternate; two fixes of one walk at the same moment
/// on both give one command; an emergency reported to both at once is one emergency with its lights commanded once; a
/// silent walk is timed out, and its lights released, once. Holds are long here, so no refresh repeats a command.
/// </summary>
[Trait("Category", "HighAvailability")]
public sealed class EscortsAcrossInstancesTests : IAsyncLifetime
{
    private const string BridgeUser = "cloud-bridge";
    private const string ObserverUser = "observer";

    private readonly string _cityDirectory = Directory.CreateTempSubdirectory("escort-instances-").FullName;
    private readonly ConcurrentQueue<LightCommandEnvelope> _commands = new();
    private TestStorage _storage = null!;
    private MosquittoBroker _broker = null!;
    private MqttSession _gateways = null!;

    public async Task InitializeAsync()
    {
        _storage = await TestStorage.CreateAsync(StorageProvider.PostgreSql);
        var options = new MosquittoBrokerOptions();
        options.Users[BridgeUser] = Guid.NewGuid().ToString("N");
        options.Users[ObserverUser] = Guid.NewGuid().ToString("N");
        foreach (string line in new[]
        {
            "user " + BridgeUser, "topic read anshimi/v1/gw/+/events", "topic write anshimi/v1/gw/+/commands",
            "user " + ObserverUser, "topic read anshimi/v1/gw/+/commands",
        })
        {
            options.AclLines.Add(line);
        }

        _broker = await MosquittoBroker.StartAsync(options);

        // Both gateways of the street, as one subscriber: every light command either bridge sends.
        _gateways = MqttSession.Create(_broker.ClientOptions(ObserverUser));
        _gateways.AddSubscription("anshimi/v1/gw/+/commands", MqttQos.AtLeastOnce, (message, _) =>
        {
            if (EnvelopeSerializer.TryParse(message.Payload, out Envelope? envelope, out string _) && envelope is LightCommandEnvelope command)
            {
                _commands.Enqueue(command);
            }

            return Task.CompletedTask;
        });
        await _gateways.ConnectAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _gateways.DisposeAsync();
        await _broker.DisposeAsync();
        await _storage.DisposeAsync();
        Directory.Delete(_cityDirectory, recursive: true);
    }

    [Fact]
    public async Task An_escort_whose_fixes_alternate_between_instances_commands_each_light_ahead_once_and_releases_each_passed_light_once()
    {
        await using CloudBridgeHost a = await StartInstanceAsync("a");
        await using CloudBridgeHost b = await StartInstanceAsync("b");
        CloudBridgeHost[] instances = [a, b];

        string session = await AppRequests.StartEscortAsync(a.Http, AppTestCity.Along(0), AppTestCity.Along(570));
        for (int step = 1; step <= 40; step++)
        {
            await AppRequests.MoveAsync(instances[step % 2].Http, session, AppTestCity.Along(step * 10));
        }

        await AppRequests.EndEscortAsync(b.Http, session);

        // The walk lit the street from 0 to 400 m and the lights ahead of 400 m: every one escorted is released at the end.
        await Eventually.HoldsAsync(
            () => Task.FromResult(Count(LightModeName.Release).Count > 0 && Count(LightModeName.Release).Keys.ToHashSet().SetEquals(Count(LightModeName.Escort).Keys)),
            "every escorted light released");
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Dictionary<string, int> escorted = Count(LightModeName.Escort);
        Dictionary<string, int> released = Count(LightModeName.Release);
        Assert.Equal(Enumerable.Range(0, 16).Select(AppTestCity.LightId).ToHashSet(), escorted.Keys.ToHashSet());
        Assert.All(escorted, light => Assert.Equal(1, light.Value));
        Assert.All(released, light => Assert.Equal(1, light.Value));
        Assert.Equal(escorted.Keys.Order(StringComparer.Ordinal), released.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Two_fixes_of_one_walk_at_the_same_moment_on_both_instances_give_one_command()
    {
        await using CloudBridgeHost a = await StartInstanceAsync("a");
        await using CloudBridgeHost b = await StartInstanceAsync("b");
        string session = await AppRequests.StartEscortAsync(a.Http, AppTestCity.Along(0), AppTestCity.Along(570));

        // Each jump of 90 m brings new lights ahead and leaves lights behind; both instances get the same fix at once.
        for (int jump = 1; jump <= 5; jump++)
        {
            GeoPoint at = AppTestCity.Along(jump * 90);
            await Task.WhenAll(AppRequests.MoveAsync(a.Http, session, at), AppRequests.MoveAsync(b.Http, session, at));
        }

        await AppRequests.EndEscortAsync(a.Http, session);
        await Eventually.HoldsAsync(
            () => Task.FromResult(Count(LightModeName.Release).Keys.ToHashSet().SetEquals(Count(LightModeName.Escort).Keys) && Count(LightModeName.Release).Count > 0),
            "every escorted light released");
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.All(Count(LightModeName.Escort), light => Assert.Equal(1, light.Value));
        Assert.All(Count(LightModeName.Release), light => Assert.Equal(1, light.Value));

        // Every fix went in, one after the other: ten updates of the walk.
        Assert.Equal(10, (await a.Services.GetRequiredService<EscortStore>().FindAsync(
            uint.Parse(session, NumberStyles.HexNumber, CultureInfo.InvariantCulture), CancellationToken.None))!.Version);
    }

    [Fact]
    public async Task An_emergency_reported_to_both_instances_at_once_is_one_emergency_with_its_lights_commanded_once()
    {
        await using CloudBridgeHost a = await StartInstanceAsync("a");
        await using CloudBridgeHost b = await StartInstanceAsync("b");
        GeoPoint at = AppTestCity.Along(100);
        string body = AppRequests.EmergencyBody(at);

        HttpResponseMessage[] answers = await Task.WhenAll(
            AppRequests.PostAsync(a.Http, "/api/app/v1/emergencies", body, idempotencyKey: "both-at-once"),
            AppRequests.PostAsync(b.Http, "/api/app/v1/emergencies", body, idempotencyKey: "both-at-once"));
        string[] alarmKeys = new string[2];
        for (int i = 0; i < answers.Length; i++)
        {
            using HttpResponseMessage answer = answers[i];
            Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
            alarmKeys[i] = (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("alarmKey").GetString()!;
        }

        Assert.Equal(alarmKeys[0], alarmKeys[1]);
        Assert.Equal(1, await a.Services.GetRequiredService<EscortStore>().CountEmergenciesAsync(CancellationToken.None));
        Assert.Equal(1, await a.Store.CountAsync(CancellationToken.None));
        await Eventually.HoldsAsync(() => Task.FromResult(Count(LightModeName.Emergency).Count == 3), "the emergency's three lights commanded");
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.All(Count(LightModeName.Emergency), light => Assert.Equal(1, light.Value));

        // Resolved on B: both instances hear of it, one releases the lights, once.
        using (HttpResponseMessage resolved = await b.Http.PostAsync(new Uri($"/api/alarms/{alarmKeys[0]}/resolve", UriKind.Relative), null))
        {
            resolved.EnsureSuccessStatusCode();
        }

        await Eventually.HoldsAsync(() => Task.FromResult(Count(LightModeName.Release).Count == 3), "the emergency's lights released");
        await Task.Delay(TimeSpan.FromMilliseconds(1500));
        Assert.All(Count(LightModeName.Release), light => Assert.Equal(1, light.Value));
    }

    [Fact]
    public async Task A_silent_walk_is_timed_out_once_and_its_lights_released_once_by_one_of_the_instances()
    {
        var quick = new Dictionary<string, string?> { ["Escorts:SessionTimeout"] = "00:00:03", ["Escorts:SweepInterval"] = "00:00:00.200" };
        await using CloudBridgeHost a = await StartInstanceAsync("a", quick);
        await using CloudBridgeHost b = await StartInstanceAsync("b", quick);
        string session = await AppRequests.StartEscortAsync(a.Http, AppTestCity.Along(0), AppTestCity.Along(570));
        await AppRequests.MoveAsync(b.Http, session, AppTestCity.Along(30));
        await AppRequests.MoveAsync(a.Http, session, AppTestCity.Along(60));

        await Eventually.HoldsAsync(
            () => Task.FromResult(Count(LightModeName.Release).Count > 0 && Count(LightModeName.Release).Keys.ToHashSet().SetEquals(Count(LightModeName.Escort).Keys)),
            "the silent walk's lights released");
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.All(Count(LightModeName.Release), light => Assert.Equal(1, light.Value));
        EscortSessionRecord ended = (await b.Services.GetRequiredService<EscortStore>().FindAsync(
            uint.Parse(session, NumberStyles.HexNumber, CultureInfo.InvariantCulture), CancellationToken.None))!;
        Assert.Equal(EscortState.TimedOut, ended.State);
    }

    /// <summary>How many commands of <paramref name="mode"/> each light got, from either bridge.</summary>
    private Dictionary<string, int> Count(string mode) => _commands
        .Where(c => c.Mode == mode)
        .SelectMany(c => c.Lights)
        .GroupBy(light => light, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    private Task<CloudBridgeHost> StartInstanceAsync(string instanceId, IDictionary<string, string?>? extra = null)
    {
        IDictionary<string, string?> settings = _storage.Settings;
        foreach (KeyValuePair<string, string?> setting in AppTestCity.Settings(_cityDirectory))
        {
            settings[setting.Key] = setting.Value;
        }

        settings["CloudBridge:InstanceId"] = instanceId;
        settings["CloudBridge:IngressShareGroup"] = "bridges";
        settings["Mqtt:Host"] = _broker.Host;
        settings["Mqtt:Port"] = _broker.Port.ToString(CultureInfo.InvariantCulture);
        settings["Mqtt:Username"] = BridgeUser;
        settings["Mqtt:Password"] = _broker.PasswordOf(BridgeUser);
        settings["Mqtt:ClientId"] = "cloud-bridge-" + instanceId;

        // Holds far longer than a test: a refresh would repeat a command, which is not what these tests count.
        settings["Escorts:HoldSeconds"] = "3600";
        foreach (KeyValuePair<string, string?> setting in extra ?? new Dictionary<string, string?>())
        {
            settings[setting.Key] = setting.Value;
        }

        return CloudBridgeHost.StartAsync(settings: settings);
    }
}
