using Anshimi.Firmware.Host;
using Anshimi.Protocol;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Tests.Bells;

/// <summary>
/// What a BLE scanner in the air learns from a version-2 bell (protocol/README.md §10): a battery bell checks in every
/// minute and raises a duress alarm every ten, for a simulated hour on the virtual clock, and a scanner records every
/// advertisement it puts on the air with the address it came from. The bell's frames are checked against its key, so the
/// test knows which is which; the scanner does not.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class SealedAirTests
{
    private const long Hour = 60L * 60 * 1000;
    private readonly FrameCodecV2 _codec = new(new HmacSha256());
    private readonly FrameKeySet _keys = new(new HmacSha256(), BellRig.Key, 0);
    private uint _downlinkCounter;

    [Fact]
    public void A_scanner_recording_a_bell_for_an_hour_cannot_tell_its_duress_alarms_from_its_heartbeats_nor_link_its_frames_nor_follow_its_address()
    {
        var rig = new BellRig(
            c =>
            {
                c.FrameVersion = FrameCodecV2.Version;
                c.DeepSleep = false;
                c.CheckInIntervalMs = 60_000;
                c.EventCode = ContactIdCode.Duress;
            },
            profile: "battery");
        var heard = new List<byte[]>();
        var from = new List<(ulong Address, long AtMs)>();
        rig.Air.Listen((address, data, length) =>
        {
            heard.Add(data[..length]);
            from.Add((address, rig.Clock.MonotonicMs));
        });

        for (int minute = 0; minute < 60; minute++)
        {
            if (minute % 10 == 4)
            {
                rig.Press();
                rig.Run(3000);

                // The gateway's ack, sealed for this bell, in a flagless advertisement: the bell stops bursting.
                Frame alarm = Opened(heard).Last(f => f.Type == FrameType.Alarm);
                BroadcastAck(rig, alarm.Counter);
                rig.Run(1000);
                Assert.Equal(0, rig.Bell.PendingAlarmCount);
            }

            rig.RunUntil((minute + 1) * 60_000L);
        }

        Assert.True(rig.Clock.MonotonicMs >= Hour);
        List<byte[]> frames = [.. heard.Select(Frame).DistinctBy(Convert.ToHexString)];
        List<Frame> opened = [.. frames.Select(Open)];
        List<byte[]> duress = [.. frames.Where((_, i) => opened[i].Type == FrameType.Alarm)];
        List<byte[]> heartbeats = [.. frames.Where((_, i) => opened[i].Type == FrameType.Heartbeat)];
        Assert.Equal(6, duress.Count);
        Assert.All(opened.Where(f => f.Type == FrameType.Alarm), f => Assert.Equal(ContactIdCode.Duress, f.EventCode));
        Assert.True(heartbeats.Count >= 50, heartbeats.Count + " heartbeats");
        Assert.Equal(frames.Count, duress.Count + heartbeats.Count);

        // Length: every advertisement is the same 31 bytes, and what is the same in them is the same in all.
        Assert.All(heard, ad => Assert.Equal(31, ad.Length));
        Assert.Single(heard.Select(ad => Convert.ToHexString(ad, 0, 5)).Distinct());

        // Bytes: no position holds a marker — neither class keeps any byte after the common prefix constant.
        for (int position = 5; position < 31; position++)
        {
            Assert.True(duress.Select(f => f[position - 4]).Distinct().Count() > 1, "duress alarms share byte " + position);
            Assert.True(heartbeats.Select(f => f[position - 4]).Distinct().Count() > 1, "heartbeats share byte " + position);
        }

        // Linking: the resolvable id (random part and hash) and the masked epoch never repeat from one frame to the next,
        // and no 4-byte run of one frame (a counter, an id) shows up in another.
        Assert.Equal(frames.Count, frames.Select(f => Convert.ToHexString(f, 1, 7)).Distinct().Count());
        var runs = new Dictionary<string, int>();
        for (int i = 0; i < frames.Count; i++)
        {
            foreach (string run in Enumerable.Range(1, frames[i].Length - 4).Select(at => Convert.ToHexString(frames[i], at, 4)).Distinct())
            {
                Assert.False(runs.TryGetValue(run, out int other) && other != i, "frames " + other + " and " + i + " share " + run);
                runs[run] = i;
            }
        }

        // Addresses: no address carries two different frames (so none links them), none stays longer than the rotation
        // period, and every one is of the same kind (a resolvable private address's top bits 01), alarm or heartbeat.
        Dictionary<ulong, List<int>> byAddress = from.Select((f, i) => (f.Address, i)).GroupBy(p => p.Address).ToDictionary(g => g.Key, g => g.Select(p => p.i).ToList());
        Assert.True(byAddress.Count >= frames.Count, byAddress.Count + " addresses for " + frames.Count + " frames");
        Assert.All(byAddress, a => Assert.Single(a.Value.Select(i => Convert.ToHexString(heard[i])).Distinct()));
        Assert.All(byAddress, a => Assert.True(
            from[a.Value[^1]].AtMs - from[a.Value[0]].AtMs < SimulatedBleAir.AddressRotationMs,
            "address " + a.Key.ToString("X12") + " heard for " + (from[a.Value[^1]].AtMs - from[a.Value[0]].AtMs) + " ms"));
        Assert.All(from, f => Assert.Equal(1ul, f.Address >> 46));
    }

    [Fact]
    public void An_advertisement_kept_on_air_changes_its_address_every_rotation_period_and_a_seed_repeats_the_addresses()
    {
        List<(ulong Address, long AtMs)> Run(int seed)
        {
            var clock = new VirtualClock();
            var air = new SimulatedBleAir(clock, seed);
            var heard = new List<(ulong, long)>();
            air.Listen((address, _, _) => heard.Add((address, clock.MonotonicMs)));
            SimulatedBleRadio light = air.CreateRadio("light");
            Assert.True(light.Advertise([2, 1, 6], 3, 1000));
            clock.Advance(40 * 60 * 1000);
            return heard;
        }

        List<(ulong Address, long AtMs)> first = Run(7);
        List<ulong> addresses = [.. first.Select(h => h.Address).Distinct()];
        Assert.Equal(3, addresses.Count);
        foreach (ulong address in addresses)
        {
            long[] at = [.. first.Where(h => h.Address == address).Select(h => h.AtMs)];
            Assert.True(at[^1] - at[0] < SimulatedBleAir.AddressRotationMs, address.ToString("X12"));
        }

        Assert.Equal(first, Run(7));
        Assert.Empty(addresses.Intersect(Run(8).Select(h => h.Address)));
    }

    [Fact]
    public void The_bells_own_alarm_heard_back_or_another_bells_ack_is_never_taken_as_its_ack()
    {
        var rig = new BellRig(c => c.FrameVersion = FrameCodecV2.Version, profile: "battery");
        var heard = new List<byte[]>();
        rig.Air.Listen((_, data, length) => heard.Add(data[..length]));
        rig.Press();
        rig.Run(1500);
        byte[] alarm = Frame(heard.Last());
        uint counter = Open(alarm).Counter;

        // Its own alarm re-advertised with the direction bit set, and an ack sealed for another bell.
        byte[] flipped = [0x21, .. alarm[1..]];
        Broadcast(rig, flipped);
        var other = new FrameKeySet(new HmacSha256(), [.. BellRig.Key.Select(b => (byte)(b ^ 0x55))], 0);
        var foreign = new byte[FrameCodecV2.DownlinkFrameLength];
        _codec.Encode(FrameType.Ack, 1, 0, 0, 0, [0, 0, 0, (byte)counter, 1], 0, 5, other, foreign, 0);
        Broadcast(rig, foreign);
        rig.Run(1000);

        Assert.Equal(1, rig.Bell.PendingAlarmCount);
        Assert.Equal(0, rig.Bell.Downlinks.RejectedTotal);

        BroadcastAck(rig, counter);
        rig.Run(1000);
        Assert.Equal(0, rig.Bell.PendingAlarmCount);
    }

    private static byte[] Frame(byte[] advertisement)
    {
        Assert.True(BleAdvertisement.TryFindFrame(advertisement, 0, advertisement.Length, out int offset, out int length));
        return advertisement[offset..(offset + length)];
    }

    private Frame Open(byte[] frame)
    {
        FrameReadResult result = _codec.Decode(frame, 0, frame.Length, FrameDirectionBit.Uplink, BellRig.DeviceId, new FrameKeySet(new HmacSha256(), BellRig.Key, 0));
        Assert.Equal(FrameError.None, result.Error);
        return result.Frame!;
    }

    private List<Frame> Opened(List<byte[]> advertisements) => [.. advertisements.Select(Frame).Select(Open)];

    private void BroadcastAck(BellRig rig, uint alarmCounter)
    {
        var payload = new byte[5];
        BigEndian.WriteUInt32(payload, 0, alarmCounter);
        payload[4] = (byte)AckStage.Received;
        var ack = new byte[FrameCodecV2.DownlinkFrameLength];
        _codec.Encode(FrameType.Ack, ++_downlinkCounter, 0, 0, 0, payload, 0, 5, _keys, ack, 0);
        Broadcast(rig, ack);
    }

    private static void Broadcast(BellRig rig, byte[] frame)
    {
        var advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
        int length = BleAdvertisement.Write(frame, 0, frame.Length, false, advertisement, 0);
        rig.Air.Broadcast(advertisement, length);
    }
}
