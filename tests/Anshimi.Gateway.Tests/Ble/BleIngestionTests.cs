using System.Globalization;
using System.Text;
using Anshimi.Ble;
using Anshimi.Ble.Simulation;
using Anshimi.Gateway.Ble;
using Anshimi.Gateway.Lights;
using Anshimi.Gateway.Pipeline;
using Anshimi.Gateway.Storage;
using Anshimi.Protocol;
using Microsoft.Data.Sqlite;

namespace Anshimi.Gateway.Tests.Ble;

public sealed class BleIngestionTests : IAsyncLifetime
{
    private BleGateway _gateway = null!;

    public async Task InitializeAsync() => _gateway = await BleGateway.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task A_beacon_updates_the_lights_state_and_last_seen_once_per_counter()
    {
        TestDevice light = _gateway.Lights[0];
        byte[] beacon = BleGateway.Advertisement(light.Sign(FramePayloads.Beacon(light.Id, 5, LightMode.Escort, lampFault: true, level: 80)));

        Assert.Equal(BleIngestion.Beacon, await _gateway.HearAsync(beacon));

        LightState state = Assert.IsType<LightState>(_gateway.LightStore.Get(light.Id));
        Assert.Equal(new LightState(LightMode.Escort, 80, true, 5, _gateway.Harness.Time.GetUtcNow()), state);
        Assert.True(_gateway.Harness.Registry.TryGet(light.Id, out DeviceEntry entry));
        Assert.Equal(_gateway.Harness.Time.GetUtcNow(), entry.LastSeen);

        _gateway.Harness.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(BleIngestion.Repeat, await _gateway.HearAsync(beacon));
        Assert.Equal(state, _gateway.LightStore.Get(light.Id));
        Assert.Equal(state.HeardAt, entry.LastSeen);

        Assert.Equal(1, await _gateway.LightStore.FlushAsync(CancellationToken.None));
        Assert.Equal(5, _gateway.Harness.Count("SELECT beacon_counter FROM light_state WHERE light_id = " + light.Id + " AND mode = 1 AND level = 80 AND lamp_fault = 1"));
        Assert.Equal(1, _gateway.Metric(BleIngestion.Beacon));
        Assert.Equal(1, _gateway.Metric(BleIngestion.Repeat));
    }

    [Fact]
    [Trait("Category", "Protocol")]
    public async Task A_version_2_light_past_its_counter_wrap_is_heard_in_its_new_epoch_and_its_old_beacons_are_stale()
    {
        TestDevice light = _gateway.Lights[0];
        byte[] last = BleGateway.Advertisement(light.SealV2(FramePayloads.Beacon(light.Id, 0xFFFFFEFF, LightMode.Schedule, lampFault: false, level: 70)), withFlags: false);
        Assert.Equal(BleIngestion.Beacon, await _gateway.HearAsync(last));

        // Wrapped: epoch 1, counting from 1 again.
        byte[] first = BleGateway.Advertisement(light.SealV2(FramePayloads.Beacon(light.Id, 1, LightMode.Escort, lampFault: false, level: 100), epoch: 1), withFlags: false);
        Assert.Equal(BleIngestion.Beacon, await _gateway.HearAsync(first));
        Assert.Equal(new LightState(LightMode.Escort, 100, false, 1, _gateway.Harness.Time.GetUtcNow()), _gateway.LightStore.Get(light.Id));
        Assert.Equal(BleIngestion.Repeat, await _gateway.HearAsync(first));
        Assert.Equal("stale_epoch", await _gateway.HearAsync(last));
        Assert.Equal(BleIngestion.Beacon, await _gateway.HearAsync(
            BleGateway.Advertisement(light.SealV2(FramePayloads.Beacon(light.Id, 2, LightMode.Schedule, lampFault: false, level: 70), epoch: 1), withFlags: false)));
    }

    [Fact]
    public async Task An_alarm_heard_over_ble_and_over_mqtt_is_one_alarm_whichever_comes_first()
    {
        TestDevice bell = _gateway.BatteryBell;

        UplinkResult mqttFirst = await _gateway.Harness.Pipeline.HandleUplinkAsync(bell.UplinkTopic, bell.Alarm(7), CancellationToken.None);
        string bleSecond = await _gateway.HearAsync(BleGateway.Advertisement(bell.Alarm(7)));
        string bleFirst = await _gateway.HearAsync(BleGateway.Advertisement(bell.Alarm(8)));
        UplinkResult mqttSecond = await _gateway.Harness.Pipeline.HandleUplinkAsync(bell.UplinkTopic, bell.Alarm(8), CancellationToken.None);

        Assert.Equal(UplinkOutcome.Accepted, mqttFirst.Outcome);
        Assert.Equal(BleIngestion.Duplicate, bleSecond);
        Assert.Equal(BleIngestion.Alarm, bleFirst);
        Assert.Equal(UplinkOutcome.Duplicate, mqttSecond.Outcome);
        Assert.Equal(2, _gateway.Harness.Count("SELECT count(*) FROM alarms WHERE device_id = " + bell.Id));
        Assert.Equal(2, _gateway.Harness.Count("SELECT count(*) FROM outbox WHERE device_id = " + bell.Id));
        Assert.Equal(2, _gateway.Harness.Metric("anshimi_gateway_alarms_received_total{outcome=\"stored\"}"));
        Assert.Equal(2, _gateway.Harness.Metric("anshimi_gateway_alarms_received_total{outcome=\"duplicate\"}"));

        // The bell keeps bursting the same alarm while our ack is on air: no new ack for each copy.
        Assert.Equal(BleIngestion.Repeat, await _gateway.HearAsync(BleGateway.Advertisement(bell.Alarm(8))));
        Assert.Equal(2, _gateway.Harness.Metric("anshimi_gateway_alarms_received_total{outcome=\"duplicate\"}"));
    }

    [Fact]
    public async Task A_battery_bell_alarm_over_the_air_is_stored_and_answered_with_an_ack_it_can_verify()
    {
        TestDevice bell = _gateway.BatteryBell;
        SimulatedBleTransport bellRadio = await _gateway.JoinAsync(BleGateway.AddressOf(bell));
        var heard = new List<BleAdvertisementReport>();
        bellRadio.AdvertisementReceived += (_, report) => heard.Add(report);

        await bellRadio.SetAdvertisingAsync(BleGateway.Advertisement(bell.Alarm(9)), TimeSpan.FromMilliseconds(100), CancellationToken.None);
        await _gateway.RunAsync(TimeSpan.FromSeconds(2), until: () => heard.Count > 0);

        BleAdvertisementReport answer = Assert.Single(heard.Take(1));
        Assert.Equal(BleGateway.GatewayAddress, answer.Address);
        Assert.Equal(31, answer.Data.Length);
        Assert.Equal(new byte[] { 30, BleAdvertisement.AdTypeManufacturerData, 0xFF, 0xFF }, answer.Data[..4]); // no Flags: 27 frame bytes fit
        Frame ack = Assert.IsType<Frame>(bell.ReadDownlink(answer.Data[4..]));
        Assert.Equal(FrameType.Ack, ack.Type);
        Assert.Equal(9u, ack.AckedCounter);
        Assert.Equal(AckStage.Received, ack.AckStage);
        Assert.Equal(1, _gateway.Harness.Count("SELECT count(*) FROM alarms WHERE device_id = " + bell.Id + " AND counter = 9"));
        Assert.Equal(1, _gateway.Metric(BleIngestion.Alarm));
        Assert.True(_gateway.Metric(BleIngestion.Repeat) > 0, "the burst's later copies are repeats");
    }

    [Fact]
    public async Task An_advertisement_padded_with_zeros_after_a_zero_length_byte_is_read_up_to_it()
    {
        TestDevice bell = _gateway.BatteryBell;
        byte[] alarm = BleGateway.Advertisement(bell.Alarm(4));
        byte[] padded = [.. alarm, .. new byte[BleAdvertisement.MaxLegacyDataLength - alarm.Length]];

        // A zero length ends the significant part (Core Specification Vol 3 Part C §11); only the garbage of a
        // structure running past the end is malformed.
        Assert.Equal(BleIngestion.Alarm, await _gateway.HearAsync(padded));
        Assert.Equal(BleIngestion.MalformedAdvertisement, await _gateway.HearAsync([.. alarm, 0x05, 0xFF]));
    }

    [Fact]
    public async Task A_heartbeat_over_the_air_counts_once()
    {
        TestDevice bell = _gateway.BatteryBell;
        byte[] heartbeat = BleGateway.Advertisement(bell.Heartbeat(3));

        Assert.Equal(BleIngestion.Heartbeat, await _gateway.HearAsync(heartbeat));
        Assert.Equal(BleIngestion.Repeat, await _gateway.HearAsync(heartbeat));
        Assert.Equal("replayed", await _gateway.HearAsync(BleGateway.Advertisement(bell.Heartbeat(2))));

        Assert.True(_gateway.Harness.Registry.TryGet(bell.Id, out DeviceEntry entry));
        Assert.Equal(3u, entry.HeartbeatCounter);
        Assert.Equal(1, _gateway.Harness.Metric("anshimi_gateway_heartbeats_total"));
    }

    [Fact]
    public async Task Malformed_forged_replayed_and_foreign_advertisements_are_counted_by_reason_and_change_nothing()
    {
        TestDevice light = _gateway.Lights[0];
        TestDevice bell = _gateway.BatteryBell;
        byte[] goodBeacon = BleGateway.Advertisement(light.Sign(FramePayloads.Beacon(light.Id, 10, LightMode.Emergency, false, 100)));
        Assert.Equal(BleIngestion.Beacon, await _gateway.HearAsync(goodBeacon));
        Assert.Equal(BleIngestion.Alarm, await _gateway.HearAsync(BleGateway.Advertisement(bell.Alarm(1))));
        await _gateway.LightStore.FlushAsync(CancellationToken.None);
        await _gateway.Harness.Registry.FlushActivityAsync(CancellationToken.None);
        string before = await SnapshotAsync();
        _gateway.Harness.Time.Advance(TimeSpan.FromSeconds(1));

        var results = new List<string>
        {
            // Another company's manufacturer data around a valid frame.
            await _gateway.HearAsync([.. goodBeacon[..5], 0x4C, 0x00, .. goodBeacon[7..]]),

            // Signed with another key, an older counter, an unregistered device, a bell posing as a light, a command heard back.
            await _gateway.HearAsync(BleGateway.Advertisement(new TestDevice(light.Id, 200).Sign(FramePayloads.Beacon(light.Id, 11, LightMode.Schedule, false, 0)))),
            await _gateway.HearAsync(BleGateway.Advertisement(light.Sign(FramePayloads.Beacon(light.Id, 9, LightMode.Schedule, false, 0)))),
            await _gateway.HearAsync(BleGateway.Advertisement(new TestDevice(0x0BADBEEF, 5, LightFanout.LightProfile).Sign(FramePayloads.Beacon(0x0BADBEEF, 1, LightMode.Schedule, false, 0)))),
            await _gateway.HearAsync(BleGateway.Advertisement(bell.Sign(FramePayloads.Beacon(bell.Id, 50, LightMode.Schedule, false, 0)))),
            await _gateway.HearAsync(BleGateway.Advertisement(light.Sign(FramePayloads.Command(light.Id, 99, LightMode.Schedule, 0)), withFlags: false)),
        };
        Assert.Equal(["foreign", "bad_tag", "replayed", "unknown_device", "unexpected_type", "wrong_direction"], results);

        // Every cut of a valid beacon advertisement, and every single-bit flip of its manufacturer data (the Flags
        // structure around it carries nothing we trust, so flipping it leaves the same beacon: a repeat).
        for (int length = 0; length < goodBeacon.Length; length++)
        {
            results.Add(await _gateway.HearAsync(goodBeacon[..length]));
        }

        for (int bit = 3 * 8; bit < goodBeacon.Length * 8; bit++)
        {
            byte[] flipped = (byte[])goodBeacon.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            results.Add(await _gateway.HearAsync(flipped));
        }

        // Random advertising data, some of it dressed as our manufacturer data.
        var random = new Random(20261122);
        for (int i = 0; i < 3000; i++)
        {
            byte[] data = new byte[random.Next(0, 32)];
            random.NextBytes(data);
            if (i % 2 == 0 && data.Length >= 8)
            {
                data[0] = (byte)(data.Length - 1);
                data[1] = 0xFF;
                data[2] = 0xFF;
                data[3] = 0xFF;
                data[4] = (byte)(0x10 | random.Next(1, 8));
            }

            results.Add(await _gateway.HearAsync(data));
        }

        string[] accepted = [BleIngestion.Beacon, BleIngestion.Alarm, BleIngestion.Duplicate, BleIngestion.Heartbeat, BleIngestion.Repeat];
        Assert.DoesNotContain(results, accepted.Contains);
        await _gateway.LightStore.FlushAsync(CancellationToken.None);
        await _gateway.Harness.Registry.FlushActivityAsync(CancellationToken.None);
        Assert.Equal(before, await SnapshotAsync());
        Assert.Empty(_gateway.Outcomes());

        foreach (IGrouping<string, string> reason in results.GroupBy(r => r))
        {
            Assert.Equal(reason.Count(), _gateway.Metric(reason.Key));
        }

        Assert.True(_gateway.Metric(BleIngestion.MalformedAdvertisement) > 100);
        Assert.True(_gateway.Metric("bad_tag") > 100);
    }

    /// <summary>Everything stored about devices, lights and alarms, and what the registry holds in memory.</summary>
    private async Task<string> SnapshotAsync()
    {
        var text = new StringBuilder();
        await using var connection = new SqliteConnection("Data Source=" + _gateway.Harness.DatabasePath + ";Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        foreach (string table in new[] { "devices", "light_state", "alarms", "outbox" })
        {
            await using SqliteCommand command = connection.CreateCommand();
            command.CommandText = "SELECT * FROM " + table + " ORDER BY 1, 2;";
            await using SqliteDataReader reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                for (int i = 0; i < reader.FieldCount; i++)
                {
                    text.Append(reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i) is byte[] bytes ? Convert.ToHexString(bytes) : reader.GetValue(i), CultureInfo.InvariantCulture)).Append('|');
                }

                text.AppendLine();
            }
        }

        foreach (DeviceEntry device in _gateway.Harness.Registry.Snapshot())
        {
            text.Append(device).Append(' ').Append(device.HighestCounter).Append(' ').Append(device.HeartbeatCounter).Append(' ').Append(device.LastSeen).AppendLine();
            text.Append(_gateway.LightStore.Get(device.Id)).AppendLine();
        }

        return text.ToString();
    }
}
