using Anshimi.Ble;
using Anshimi.Gateway.Ble;
using Anshimi.Gateway.Lights;
using Anshimi.Gateway.Tests.Ble;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Tests.Lights;

/// <summary>
/// The gateway's part of the escort key delivery (protocol/README.md §10.1): an <c>escort-keys</c> envelope is receipted,
/// each listed light gets the record as 13 type-9 parts sealed under its own downlink keys with fresh counters, only in
/// the air time no light command needs, until its beacon reports the record's epoch; bad entries are counted and dropped.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class EscortKeyDeliveryTests : IAsyncLifetime
{
    private const ushort Area = 11215;
    private const byte Epoch = 0x2A;

    private static readonly byte[] Record = EscortKeyRecord.Encode(Area, Epoch, 123_456, [.. Enumerable.Range(0x80, 32).Select(i => (byte)i)]);

    private BleGateway _gateway = null!;

    public async Task InitializeAsync() => _gateway = await BleGateway.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task A_light_gets_all_13_parts_sealed_for_it_never_ahead_of_a_light_command_until_its_beacon_shows_the_epoch()
    {
        TestDevice light = _gateway.Lights[0];
        TestDevice other = _gateway.Lights[1];
        EscortKeyDelivery delivery = _gateway.Harness.Get<EscortKeyDelivery>();
        BleBroadcaster broadcaster = _gateway.Harness.Get<BleBroadcaster>();
        await HearBeaconAsync(light, 1, escortEpoch: -1);

        // A light command for another light is on air first; the key parts wait for it.
        await _gateway.Harness.Commands.HandleAsync(EnvelopeSerializer.Serialize(new LightCommandEnvelope(
            "req-1", LightModeName.Emergency, [DeviceIdText.Format(other.Id)], 0, _gateway.Harness.Time.GetUtcNow().AddSeconds(5))), CancellationToken.None);
        await SendAsync(new EscortKeysEnvelope(7, [new EscortAreaKey("11215", Convert.ToHexString(Record), [DeviceIdText.Format(light.Id)])]));
        Assert.Contains(Published(), e => e is EscortKeysReceiptEnvelope { GatewayId: GatewayHarness.GatewayId, Rotation: 7 });
        await _gateway.RunAsync(TimeSpan.FromSeconds(3), until: () =>
        {
            Assert.Null(light.ReadDownlinkV2(FrameOf(broadcaster.OnAir)));
            return false;
        });
        Assert.NotNull(broadcaster.OnAir);

        // Once the command has expired, the parts go out one after another, each opening only under the light's keys.
        var parts = new Dictionary<int, byte[]>();
        var counters = new List<uint>();
        await _gateway.RunAsync(TimeSpan.FromSeconds(60), until: () =>
        {
            if (light.ReadDownlinkV2(FrameOf(broadcaster.OnAir)) is { } frame && (counters.Count == 0 || counters[^1] != frame.Counter))
            {
                Assert.Equal(FrameType.EscortKeyPart, frame.Type);
                Assert.Equal(Epoch, frame.Payload[0]);
                parts[frame.Payload[1]] = frame.Payload[2..];
                counters.Add(frame.Counter);
            }

            return parts.Count == EscortKeyRecord.PartCount;
        });
        Assert.Equal(EscortKeyRecord.PartCount, parts.Count);
        Assert.Equal(Record, parts.OrderBy(p => p.Key).SelectMany(p => p.Value).ToArray());
        Assert.Equal(counters.Order(), counters);
        Assert.Equal(counters.Count, counters.Distinct().Count());

        // The light's beacon shows the epoch: nothing more goes on air for it.
        await HearBeaconAsync(light, 2, Epoch);
        Assert.Equal(0, delivery.PendingCount);
        await _gateway.RunAsync(TimeSpan.FromSeconds(2));
        Assert.Null(broadcaster.OnAir);
    }

    [Fact]
    public async Task A_light_that_already_holds_the_current_rotation_is_never_given_the_previous_one()
    {
        TestDevice light = _gateway.Lights[0];
        EscortKeyDelivery delivery = _gateway.Harness.Get<EscortKeyDelivery>();
        byte[] previous = EscortKeyRecord.Encode(Area, Epoch - 1, 100, [.. Enumerable.Range(0x10, 32).Select(i => (byte)i)]);
        await HearBeaconAsync(light, 1, Epoch);

        // During a changeover the cloud sends the previous rotation, then the current one, which the light holds.
        await SendAsync(new EscortKeysEnvelope(6, [new EscortAreaKey("11215", Convert.ToHexString(previous), [DeviceIdText.Format(light.Id)])]));
        Assert.Equal(1, delivery.PendingCount);
        await SendAsync(new EscortKeysEnvelope(7, [new EscortAreaKey("11215", Convert.ToHexString(Record), [DeviceIdText.Format(light.Id)])]));
        Assert.Equal(0, delivery.PendingCount);
        await _gateway.RunAsync(TimeSpan.FromSeconds(2));
        Assert.Null(_gateway.Harness.Get<BleBroadcaster>().OnAir);

        // Sent again later (a refresh), the previous rotation stays away too.
        await SendAsync(new EscortKeysEnvelope(6, [new EscortAreaKey("11215", Convert.ToHexString(previous), [DeviceIdText.Format(light.Id)])]));
        Assert.Equal(0, delivery.PendingCount);
    }

    [Fact]
    public async Task Entries_the_gateway_cannot_read_are_counted_and_dropped_and_the_others_are_taken()
    {
        TestDevice light = _gateway.Lights[0];
        EscortKeyDelivery delivery = _gateway.Harness.Get<EscortKeyDelivery>();
        await SendAsync(new EscortKeysEnvelope(7,
        [
            new EscortAreaKey("11260", Convert.ToHexString(Record), [DeviceIdText.Format(light.Id)]),
            new EscortAreaKey("11215", "zz", [DeviceIdText.Format(light.Id)]),
            new EscortAreaKey("11215", Convert.ToHexString(Record), [DeviceIdText.Format(_gateway.Bell.Id), "0000FFFF"]),
        ]));
        Assert.Equal(0, delivery.PendingCount);
        Assert.Equal(4, _gateway.Harness.Metric("anshimi_gateway_commands_rejected_total{reason=\"" + EscortKeyDelivery.BadEscortKeys + "\"}"));

        await SendAsync(new EscortKeysEnvelope(7, [new EscortAreaKey("11215", Convert.ToHexString(Record), [DeviceIdText.Format(light.Id)])]));
        Assert.Equal(1, delivery.PendingCount);
    }

    private async Task HearBeaconAsync(TestDevice light, uint counter, int escortEpoch)
    {
        ushort zone = escortEpoch < 0 ? (ushort)0 : (ushort)(FramePayloads.BeaconEscortKeyFlag | escortEpoch);
        byte[] beacon = light.SealV2(new Frame(FrameType.Beacon, light.Id, counter, ContactIdCode.None, ContactIdQualifier.None, zone, [LightMode.Schedule, 0]));
        Assert.Equal("beacon", await _gateway.HearAsync(BleGateway.Advertisement(beacon, withFlags: false), BleGateway.AddressOf(light)));
    }

    private Task SendAsync(EscortKeysEnvelope envelope) =>
        _gateway.Harness.Commands.HandleAsync(EnvelopeSerializer.Serialize(envelope), CancellationToken.None);

    private List<Envelope> Published() =>
        [.. _gateway.Harness.Mqtt.PublishedTo(_gateway.EventsTopic)
            .Select(m => EnvelopeSerializer.TryParse(m.Payload, out Envelope? envelope, out _) ? envelope : null)
            .OfType<Envelope>()];

    private static byte[] FrameOf(byte[]? advertisement)
    {
        if (advertisement is null || !BleAdvertisement.TryFindFrame(advertisement, 0, advertisement.Length, out int offset, out int length))
        {
            return [];
        }

        return advertisement[offset..(offset + length)];
    }
}
