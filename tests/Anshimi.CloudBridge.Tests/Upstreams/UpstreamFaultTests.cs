using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Anshimi.CloudBridge.Upstreams;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Anshimi.Testing;
using Xunit.Abstractions;

namespace Anshimi.CloudBridge.Tests.Upstreams;

/// <summary>
/// The cloud bridge as a real process, SIGKILLed while alarms wait for a receiver that is down and
/// again at random moments while it stores and delivers: every alarm still reaches the DC-09
/// receiver, and a repetition carries the sequence number the receiver saw first. The test plays the
/// gateway, offering each alarm again until the bridge's receipt (protocol/README.md).
/// </summary>
[Trait("Category", "Fault")]
public sealed class UpstreamFaultTests(ITestOutputHelper output)
{
    private const int Alarms = 30;
    private const string Gateway = "gw-fault";

    [Fact]
    public async Task Killing_the_bridge_while_alarms_wait_or_are_being_delivered_loses_no_delivery()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        CancellationToken ct = cts.Token;
        int seed = Random.Shared.Next();
        output.WriteLine("seed " + seed);
        var random = new Random(seed);

        var brokerOptions = new MosquittoBrokerOptions { AllowAnonymous = true };
        brokerOptions.ExtraConfigLines.Add("autosave_interval 1");
        await using MosquittoBroker broker = await MosquittoBroker.StartAsync(brokerOptions, ct);
        await using Dc09TestReceiver receiver = await Dc09TestReceiver.CreateDownAsync();
        string directory = Directory.CreateTempSubdirectory("upstream-fault-").FullName;
        int port = FreePort.Next();

        // Upstream status is read where ops tools read it: the admin listener, which needs no operator session.
        int adminPort = FreePort.Next();
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CloudBridge__DataDirectory"] = Path.Combine(directory, "cloud"),
            ["CloudBridge__DistrictsGeoJson"] = CloudBridgeHost.DistrictsFile,
            ["Mqtt__Host"] = broker.Host,
            ["Mqtt__Port"] = broker.Port.ToString(CultureInfo.InvariantCulture),
            ["Urls"] = "http://127.0.0.1:" + port,
            ["CloudBridge__AdminUrl"] = "http://127.0.0.1:" + adminPort,
        };
        foreach ((string key, string? value) in new UpstreamSettings().Dc09("station", receiver.Port).Values)
        {
            if (value is not null)
            {
                environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
            }
        }

        var bridge = new ServiceProcess("cloud-bridge", RepoPaths.ProjectOutput("cloud-bridge/Anshimi.CloudBridge", "Anshimi.CloudBridge.dll"), environment, Path.Combine(directory, "cloud-bridge.log"));
        using var http = new HttpClient { BaseAddress = new Uri("http://127.0.0.1:" + adminPort) };
        await using MqttSession gateway = MqttSession.Create(broker.ClientOptions(null));
        var receipted = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        gateway.AddSubscription(Topics.GatewayCommands(Gateway), MqttQos.AtLeastOnce, (message, _) =>
        {
            if (EnvelopeSerializer.TryParse(message.Payload, out Envelope? envelope, out string _) && envelope is AlarmReceiptEnvelope receipt)
            {
                receipted[receipt.Key] = true;
            }

            return Task.CompletedTask;
        });
        try
        {
            bridge.Start();
            await WaitHealthyAsync(bridge, http, ct);
            await gateway.ConnectAsync(ct);

            // Phase 1: the receiver is down; the bridge is killed with every alarm stored and none delivered.
            for (int first = 1; first <= Alarms / 3; first++)
            {
                await PublishAsync(gateway, first, ct);
            }

            await UntilAsync(async () => await PendingAsync(http, ct) == Alarms / 3, "first alarms pending for the receiver", ct);
            bridge.Kill();
            receiver.Start();
            bridge.Start();

            // Phase 2: the receiver is up; each time the bridge is running, a burst of alarms arrives and
            // the bridge is killed a random moment later, in the middle of storing and delivering.
            int zone = Alarms / 3;
            for (int kill = 0; kill < 4; kill++)
            {
                await WaitHealthyAsync(bridge, http, ct);
                for (int i = 0; i < 5; i++)
                {
                    await PublishAsync(gateway, ++zone, ct);
                }

                await Task.Delay(random.Next(0, 400), ct);
                bridge.Kill();
                bridge.Start();
            }

            while (zone < Alarms)
            {
                await PublishAsync(gateway, ++zone, ct);
            }

            // As the gateway's outbox does: an alarm without the cloud's receipt is offered again.
            await UntilAsync(async () =>
            {
                for (int unreceipted = 1; unreceipted <= Alarms; unreceipted++)
                {
                    if (!receipted.ContainsKey(Key(unreceipted)))
                    {
                        await PublishAsync(gateway, unreceipted, ct);
                    }
                }

                await Task.Delay(500, ct);
                return receipted.Count == Alarms;
            }, "a receipt for every alarm", ct);
            await UntilAsync(() => Task.FromResult(receiver.Accepted.Select(m => m.Data).Distinct().Count() == Alarms), "every alarm accepted by the receiver", ct);
            await UntilAsync(async () => await PendingAsync(http, ct) == 0, "nothing pending", ct);

            Assert.Empty(receiver.SequenceErrors);
            foreach (IGrouping<string?, AlarmReceivers.Dc09.Dc09Message> repeats in receiver.Accepted.GroupBy(m => m.Data))
            {
                Assert.Single(repeats.Select(m => m.Sequence).Distinct());
            }

            output.WriteLine($"{receiver.Accepted.Count} ACKed transmissions for {Alarms} alarms; bridge started {bridge.Starts} times");
        }
        finally
        {
            // Stopped before its directory goes: the process logs into it until it exits.
            await bridge.DisposeAsync();
            output.WriteLine(bridge.ReadLog());
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string Key(int zone) => new AlarmKey(0xFA, (uint)zone).ToString();

    /// <summary>One alarm per zone, so the receiver can tell them apart in the ADM-CID data.</summary>
    /// <summary>The gateway's <c>device-bound</c> (unchanged after the first, as after its reconnects), then the alarm.</summary>
    private static async Task PublishAsync(MqttSession gateway, int zone, CancellationToken ct)
    {
        AlarmEnvelope alarm = TestAlarms.Alarm(0xFA, (uint)zone, gatewayId: Gateway, zone: zone);
        await gateway.PublishAsync(Topics.GatewayEvents(Gateway), EnvelopeSerializer.Serialize(TestAlarms.BindingOf(alarm)), MqttQos.AtLeastOnce, retain: false, ct);
        await gateway.PublishAsync(Topics.GatewayEvents(Gateway), EnvelopeSerializer.Serialize(alarm), MqttQos.AtLeastOnce, retain: false, ct);
    }

    private static async Task<long> PendingAsync(HttpClient http, CancellationToken ct)
    {
        try
        {
            List<UpstreamStatusView>? views = await http.GetFromJsonAsync<List<UpstreamStatusView>>("/api/upstreams", new JsonSerializerOptions(JsonSerializerDefaults.Web), ct);
            return views!.Single().Pending;
        }
        catch (HttpRequestException)
        {
            return -1;
        }
    }

    private static async Task WaitHealthyAsync(ServiceProcess bridge, HttpClient http, CancellationToken ct) =>
        await UntilAsync(async () =>
        {
            Assert.True(bridge.IsRunning, "the bridge exited:\n" + bridge.ReadLog());
            try
            {
                return await http.GetStringAsync("/healthz", ct) == "Healthy";
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "bridge healthy", ct);

    private static async Task UntilAsync(Func<Task<bool>> condition, string what, CancellationToken ct)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for: " + what);
            await Task.Delay(100, ct);
        }
    }
}
