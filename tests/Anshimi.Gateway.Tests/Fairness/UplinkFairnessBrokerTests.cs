using System.Globalization;
using Anshimi.Mqtt;
using Anshimi.Protocol;
using Anshimi.Testing;
using Microsoft.AspNetCore.Builder;

namespace Anshimi.Gateway.Tests.Fairness;

[Trait("Category", "Privacy")]
[Trait("Category", "Integration")]
public sealed class UplinkFairnessBrokerTests : GatewayOnBrokerTests
{
    private static readonly TestDevice Noisy = new(0x0000F100, 77, "shop-panic");

    protected override Task<BrokerFixture> StartFixtureAsync() => BrokerFixture.StartAsync(Noisy);

    [Fact]
    public async Task A_device_account_flooding_the_gateway_cannot_crowd_out_another_devices_single_alarm()
    {
        int port = FreePort.Next();
        Dictionary<string, string> environment = Fixture.GatewayEnvironment(port);
        // Small enough that the flood fills the whole queue many times over.
        environment["Gateway__UplinkQueueCapacity"] = "64";
        environment["Gateway__UplinkDeviceBudget"] = "16";
        await using WebApplication app = BuildGateway(environment);
        await app.StartAsync();
        var metricsUri = new Uri("http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture) + "/metrics");
        TestDevice quiet = Fixture.Device;
        await using RunningProcess downlink = await Fixture.SubscribeAsync("probe", quiet.DownlinkTopic, hex: true);

        // The noisy device's own account, publishing genuine signed alarms as fast as the broker takes them.
        await using MqttSession flooder = MqttSession.Create(new MqttClientOptions
        {
            Host = Fixture.Broker.Host,
            Port = Fixture.Broker.Port,
            ClientId = DeviceIdText.Format(Noisy.Id),
            Username = DeviceIdText.Format(Noisy.Id),
            Password = Noisy.Record.MqttPassword,
            CleanSession = true,
        });
        await flooder.ConnectAsync(CancellationToken.None);
        using var stopFlood = new CancellationTokenSource();
        long sent = 0;
        Task flood = Task.Run(async () =>
        {
            for (uint counter = 1; !stopFlood.IsCancellationRequested; counter++)
            {
                await flooder.PublishAsync(Noisy.UplinkTopic, Noisy.Alarm(counter), MqttQos.AtMostOnce, retain: false, CancellationToken.None);
                Interlocked.Increment(ref sent);
            }
        });

        await WaitForAsync(async () => Prometheus.Value(await Http.GetStringAsync(metricsUri), "anshimi_gateway_frames_rejected_total{reason=\"device_budget\"}", absent: 0) > 100);

        // One publish, never repeated: it must get through while the flood goes on.
        await Fixture.PublishAsDeviceAsync(quiet.Alarm(5));
        string ackHex = await downlink.WaitForOutputLineAsync(line => line.Length >= 2 * FrameCodec.MinFrameLength && line.All(char.IsAsciiHexDigit), Patience);
        bool floodStillRunning = !flood.IsCompleted;
        await stopFlood.CancelAsync();
        await flood;

        Frame ack = Assert.IsType<Frame>(quiet.ReadDownlink(Convert.FromHexString(ackHex)));
        Assert.Equal(AckStage.Received, ack.AckStage);
        Assert.Equal(5u, ack.AckedCounter);
        Assert.True(floodStillRunning);
        string metrics = await Http.GetStringAsync(metricsUri);
        long dropped = Prometheus.Value(metrics, "anshimi_gateway_frames_rejected_total{reason=\"device_budget\"}");
        Assert.InRange(dropped, 101, Interlocked.Read(ref sent));
        await app.StopAsync();

        // Stored, not only acked: the quiet device's alarm is in the gateway's database with its outbox row.
        Assert.Equal(1, Count(environment, "SELECT count(*) FROM alarms WHERE device_id = " + quiet.Id.ToString(CultureInfo.InvariantCulture)));
    }

    private static long Count(Dictionary<string, string> environment, string sql)
    {
        string path = Path.Combine(environment["Gateway__DataDirectory"], "gateway.db");
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path + ";Mode=ReadOnly;Pooling=False");
        connection.Open();
        using Microsoft.Data.Sqlite.SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
