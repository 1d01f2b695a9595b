using Anshimi.Firmware.Bells;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests.Bells;

/// <summary>A Wi-Fi bell whose broker is gone also sends its alarm over BLE; one counter on both paths.</summary>
public sealed class BleFallbackTests
{
    [Fact]
    public void Broker_gone_alarm_goes_out_over_ble_after_the_grace_time_and_a_ble_ack_settles_it()
    {
        var rig = new BellRig(profile: BellProfiles.Home);
        rig.Run(1000);
        rig.Link.IsConnected = false;
        rig.Press();
        rig.Run(5000);
        Assert.Empty(rig.Advertised);

        rig.Run(6000);
        Frame advertised = rig.AdvertisedFrames().First();
        Assert.Equal(ContactIdCode.Panic, advertised.EventCode);

        rig.BroadcastAck(advertised.Counter, AckStage.Received);
        rig.Run(100);
        Assert.Equal(0, rig.Bell.PendingAlarmCount);
        Assert.Equal(Hal.LedState.ReceivedByGateway, rig.Led.Current);

        // Back on MQTT: nothing left to resend, heartbeats resume.
        rig.Advertised.Clear();
        rig.Link.IsConnected = true;
        rig.Run(10_000);
        Assert.Empty(rig.Alarms);
        Assert.NotEmpty(rig.Heartbeats);
        Assert.Empty(rig.Advertised);
    }

    [Fact]
    public void Alarm_heard_over_both_paths_carries_one_counter_and_ble_stops_once_mqtt_is_back()
    {
        var rig = new BellRig(profile: BellProfiles.Home);
        rig.Link.IsConnected = false;
        rig.Press();
        rig.Run(12_000);
        uint counter = rig.AdvertisedFrames().Select(f => f.Counter).Distinct().Single();

        rig.Link.IsConnected = true;
        rig.Run(100);
        Assert.Equal(counter, rig.Alarms.Single().Counter);
        Assert.False(rig.Radio.IsScanning);
        int bursts = rig.Bell.AlarmBurstsSent;
        rig.Run(20_000);
        Assert.Equal(bursts, rig.Bell.AlarmBurstsSent);
    }

    [Fact]
    public void Acks_for_other_devices_and_other_advertisements_are_ignored_on_the_radio_thread()
    {
        var rig = new BellRig(profile: BellProfiles.Battery);
        rig.Press();

        // A streetlight-like advertisement with a foreign company id, garbage, and an ack for another bell.
        rig.Air.Broadcast([2, 1, 6, 5, 0xFF, 0x4C, 0x00, 1, 2], 9);
        rig.Air.Broadcast([0xFF, 0xFF, 0xFF], 3);
        var codec = new FrameCodec(new Protocol.Security.HmacSha256());
        byte[] foreign = codec.Encode(Frame.Ack(BellRig.DeviceId + 1, 1, 1, AckStage.Received), BellRig.Key);
        var adv = new byte[31];
        rig.Air.Broadcast(adv, BleAdvertisement.Write(foreign, 0, foreign.Length, false, adv, 0));
        rig.Run(100);

        Assert.Equal(0, rig.Bell.Downlinks.RejectedForged + rig.Bell.Downlinks.RejectedMalformed + rig.Bell.Downlinks.RejectedReplayed + rig.Bell.Downlinks.DroppedDownlinks);
        Assert.Equal(1, rig.Bell.PendingAlarmCount);
    }
}
