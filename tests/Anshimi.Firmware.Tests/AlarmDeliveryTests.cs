using Anshimi.Firmware.Host;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests;

public sealed class AlarmDeliveryTests
{
    private const uint DeviceId = 0x0012AB34;

    // Alarm frames for device 0012AB34 under Key: ver 1 | type Alarm, device, counter, qualifier 1 (new) | code
    // (0x078 = 120 panic, 0x089 = 137 tamper), zone, no payload, 8-byte tag.
    private const string PanicHex = "11" + "0012AB34" + "00000005" + "1078" + "0001" + "00" + "C940DEFB1138BB78";
    private const string TamperHex = "11" + "0012AB34" + "00000006" + "1089" + "0000" + "00" + "16AE9675CB88D96C";

    private static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();

    private readonly VirtualClock _clock = new();
    private readonly FakeMqttLink _link;
    private readonly AlarmStore _alarms = new(new MemoryDeviceStorage());

    public AlarmDeliveryTests()
    {
        _link = new FakeMqttLink(_clock);
        _alarms.Add(new PendingAlarm(5, ContactIdCode.Panic, ContactIdQualifier.NewEvent, 1));
        _alarms.Add(new PendingAlarm(6, ContactIdCode.Tamper, ContactIdQualifier.NewEvent, 0));
    }

    [Fact]
    public void Pending_events_go_out_oldest_first_as_signed_alarm_frames()
    {
        AlarmDelivery delivery = Build();
        delivery.SendDue();

        Assert.Equal([PanicHex, TamperHex], _link.Published.Select(p => Convert.ToHexString(p.Payload)));
        Assert.All(_link.Published, p => Assert.True(p.Qos1));
        Assert.All(_link.Published, p => Assert.Equal(Topics.DeviceUplink(DeviceId), p.Topic));
        Assert.Equal(2, delivery.FramesSent);
    }

    [Fact]
    public void Rounds_back_off_doubling_to_the_cap()
    {
        AlarmDelivery delivery = Build();
        var roundsAt = new List<long>();
        for (int ms = 0; ms <= 20_000; ms += 10)
        {
            int before = _link.Published.Count;
            delivery.SendDue();
            if (_link.Published.Count > before)
            {
                roundsAt.Add(_clock.MonotonicMs);
            }

            _clock.Advance(10);
        }

        Assert.Equal([0L, 1000, 3000, 7000, 11_000, 15_000, 19_000], roundsAt);
    }

    [Fact]
    public void A_new_event_restarts_the_backoff_and_a_reconnect_skips_the_wait()
    {
        AlarmDelivery delivery = Build();
        delivery.SendDue();
        _clock.Advance(1000);
        delivery.SendDue();
        Assert.Equal(4000, delivery.BackoffMs);
        Assert.Equal(3000, delivery.NextRoundMs);

        delivery.SendNow(1500);
        Assert.Equal(1500, delivery.NextRoundMs);
        Assert.Equal(4000, delivery.BackoffMs);

        delivery.Restart(1600);
        Assert.Equal(1600, delivery.NextRoundMs);
        Assert.Equal(1000, delivery.BackoffMs);
    }

    [Fact]
    public void A_failed_publish_ends_the_round_so_no_newer_counter_overtakes()
    {
        _link.PublishDelayMs = 3000;
        AlarmDelivery delivery = Build();
        delivery.SendDue();

        Assert.Empty(_link.Published);
        Assert.Equal([2000], _link.PublishTimeouts);
        Assert.Equal(0, delivery.FramesSent);
    }

    [Fact]
    public void Without_a_link_nothing_is_sent()
    {
        var delivery = new AlarmDelivery(_alarms, null, new FrameSeal(new HmacSha256(), Key, DeviceId, 1), DeviceId, _clock, new NoJitter(), 1000, 4000, 2000);
        delivery.SendDue();
        Assert.Equal(0, delivery.FramesSent);
        Assert.Equal(0, delivery.NextRoundMs);
    }

    private AlarmDelivery Build() =>
        new(_alarms, _link, new FrameSeal(new HmacSha256(), Key, DeviceId, 1), DeviceId, _clock, new NoJitter(), 1000, 4000, 2000);
}
