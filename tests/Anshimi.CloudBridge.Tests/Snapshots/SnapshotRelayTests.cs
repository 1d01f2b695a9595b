using System.Security.Cryptography;
using System.Text;
using Anshimi.CloudBridge.Snapshots;
using Anshimi.CloudBridge.Storage;
using Anshimi.CloudBridge.Tests.Storage;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.DependencyInjection;

namespace Anshimi.CloudBridge.Tests.Snapshots;

public sealed class SnapshotRelayTests : IAsyncLifetime
{
    private static readonly byte[] Image = [0xFF, 0xD8, .. Enumerable.Range(0, 5000).Select(i => (byte)(i % 251)), 0xFF, 0xD9];

    private readonly FakeMqttClient _mqtt = new();
    private CloudBridgeHost _host = null!;

    private CloudSnapshotStore Snapshots => _host.Services.GetRequiredService<CloudSnapshotStore>();

    public async Task InitializeAsync() => _host = await CloudBridgeHost.StartAsync(_mqtt);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_snapshot_is_stored_once_by_its_alarm_key_and_every_copy_is_receipted()
    {
        SnapshotEnvelope snapshot = Snapshot("0000A1B2:9");
        await _host.InjectAsync(TestAlarms.EventsTopic(), snapshot);
        await _host.InjectAsync(TestAlarms.EventsTopic(), snapshot with { TakenAt = snapshot.TakenAt.AddSeconds(5) });

        Assert.Equal(1, await Snapshots.CountAsync(CancellationToken.None));
        SnapshotRecord stored = (await Snapshots.FindAsync("0000A1B2:9", CancellationToken.None))!;
        Assert.Equal(Image, stored.Data);
        Assert.Equal(snapshot.TakenAt, stored.TakenAt);
        Assert.Equal((150, 1, 3), (stored.EventCode, stored.Qualifier, stored.Zone));
        Assert.Equal(TestAlarms.Gateway, stored.GatewayId);
        Assert.Equal(["0000A1B2:9", "0000A1B2:9"], _mqtt.PublishedOf<SnapshotReceiptEnvelope>(TestAlarms.CommandsTopic()).Select(r => r.Key));
    }

    [Fact]
    public async Task A_snapshot_survives_a_restart_of_the_bridge()
    {
        await _host.InjectAsync(TestAlarms.EventsTopic(), Snapshot("0000A1B2:11"));
        using StoreDatabase database = TestStorage.OpenSqlite(_host.DataDirectory, StoreFile.Snapshots);
        var reopened = new CloudSnapshotStore(database);
        Assert.Equal(Image, (await reopened.FindAsync("0000A1B2:11", CancellationToken.None))!.Data);
    }

    [Theory]
    [InlineData("hash")]
    [InlineData("key")]
    [InlineData("device")]
    [InlineData("gateway")]
    [InlineData("type")]
    [InlineData("empty")]
    public async Task A_bad_snapshot_is_dropped_counted_and_not_receipted(string flaw)
    {
        SnapshotEnvelope good = Snapshot("0000A1B2:12");
        SnapshotEnvelope bad = flaw switch
        {
            "hash" => good with { Sha256Hex = new string('0', 64) },
            "key" => good with { Key = "A1B2-12" },
            "device" => good with { DeviceId = "0000C3D4" },
            "gateway" => good with { GatewayId = "gw-other" },
            "type" => good with { ContentType = "text/html" },
            _ => good with { Data = [], Sha256Hex = Convert.ToHexStringLower(SHA256.HashData(Array.Empty<byte>())) },
        };
        long droppedBefore = _host.Statistics.Malformed;

        await _host.InjectAsync(TestAlarms.EventsTopic(), bad);

        Assert.Equal(0, await Snapshots.CountAsync(CancellationToken.None));
        Assert.Empty(_mqtt.PublishedOf<SnapshotReceiptEnvelope>(TestAlarms.CommandsTopic()));
        Assert.Equal(droppedBefore + 1, _host.Statistics.Malformed);
    }

    [Fact]
    public async Task Truncated_snapshot_json_is_dropped()
    {
        byte[] json = EnvelopeSerializer.Serialize(Snapshot("0000A1B2:13"));
        await _host.Ingress.HandleAsync(TestAlarms.EventsTopic(), json.AsMemory(0, json.Length / 2), CancellationToken.None);
        await _host.Ingress.HandleAsync(TestAlarms.EventsTopic(), Encoding.UTF8.GetBytes("{\"kind\":\"snapshot\",\"v\":1}"), CancellationToken.None);
        Assert.Equal(0, await Snapshots.CountAsync(CancellationToken.None));
    }

    private static SnapshotEnvelope Snapshot(string key) => new(
        key,
        TestAlarms.Gateway,
        key[..8],
        new ContactIdEvent(150, 1, 3),
        new DateTimeOffset(2026, 11, 22, 1, 2, 3, TimeSpan.Zero),
        "image/jpeg",
        Convert.ToHexStringLower(SHA256.HashData(Image)),
        Image);
}
