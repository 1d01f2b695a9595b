using Anshimi.Firmware.Host;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests.Streetlight;

public sealed class StreetlightControllerTests
{
    private const uint Session = 0x0000BEEF;

    [Fact]
    public void At_night_the_lamp_ramps_smoothly_from_full_to_the_night_level()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        List<double> levels = rig.Watch(3000);

        // Starts where a booting board leaves the lamp (full), then 50 %/s: 100 → 70 takes 0.6 s.
        Assert.Equal(70, levels[^1], 3);
        double maxStep = rig.Config.RampPercentPerSecond * StreetlightRig.TickMs / 1000.0;
        for (int i = 1; i < levels.Count; i++)
        {
            Assert.True(Math.Abs(levels[i] - levels[i - 1]) <= maxStep + 1e-9, $"jump of {levels[i] - levels[i - 1]:F2} % at tick {i}");
        }

        Assert.Contains(levels, l => l is > 71 and < 99);
        Assert.Equal(LightMode.Schedule, FramePayloads.BeaconMode(rig.Beacon()));
        Assert.Equal(70, FramePayloads.BeaconLevel(rig.Beacon()));
    }

    [Fact]
    public void By_day_the_lamp_fades_out_and_the_relay_cuts_the_driver_off()
    {
        var rig = new StreetlightRig(StreetlightRig.Noon);
        rig.Run(1000);
        Assert.False(rig.Light.Lamp.Cutoff.Active); // still fading
        rig.Run(2000);

        Assert.True(rig.Light.Lamp.Cutoff.Active);
        Assert.Equal(0, rig.Light.Lamp.Level);
        Assert.Equal(0, FramePayloads.BeaconLevel(rig.Beacon()));
    }

    [Fact]
    public void A_dark_sky_by_day_turns_the_lamp_on_only_after_the_hold_time_and_hysteresis_keeps_it_on()
    {
        var rig = new StreetlightRig(StreetlightRig.Noon, ambient: 0.5);
        rig.Run(3000);
        Assert.True(rig.Light.Lamp.Cutoff.Active);

        // Headlights off, a cloud: dark for less than the hold does nothing.
        rig.Light.Ambient.Value = 0.05;
        rig.Run(rig.Config.AmbientHoldMs - 5000);
        rig.Light.Ambient.Value = 0.5;
        rig.Run(1000);
        Assert.True(rig.Light.Lamp.Cutoff.Active);

        // A storm: dark for longer than the hold.
        rig.Light.Ambient.Value = 0.05;
        rig.Run(rig.Config.AmbientHoldMs + 3000);
        Assert.False(rig.Light.Lamp.Cutoff.Active);
        Assert.Equal(70, rig.Light.Lamp.Level, 3);

        // Brighter, but inside the hysteresis band: stays on.
        rig.Light.Ambient.Value = 0.15;
        rig.Run(rig.Config.AmbientHoldMs + 3000);
        Assert.Equal(70, rig.Light.Lamp.Level, 3);

        rig.Light.Ambient.Value = 0.5;
        rig.Run(rig.Config.AmbientHoldMs + 3000);
        Assert.True(rig.Light.Lamp.Cutoff.Active);
    }

    [Fact]
    public void An_escort_advert_in_range_brightens_and_blinks_gently_then_fades_back_after_the_hold()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        rig.Run(2000);
        rig.Escort(Session);
        List<double> escort = rig.Watch(6000);

        Assert.Equal(LightMode.Escort, rig.Controller.Mode);
        Assert.Equal(LightMode.Escort, FramePayloads.BeaconMode(rig.Beacon()));
        Assert.Equal(100, FramePayloads.BeaconLevel(rig.Beacon()));
        List<double> settled = escort[^100..];
        Assert.Equal(100, settled.Max(), 0);
        Assert.InRange(settled.Min(), 69, 75); // a gentle dip of 30 %, never dark

        // The walker goes on: the phone is no longer heard, the light holds, then fades back to the night level.
        rig.Phone.StopAdvertising();
        rig.Run(rig.Config.EscortHoldMs - 7000);
        Assert.Equal(LightMode.Escort, rig.Controller.Mode);
        List<double> fading = rig.Watch(8000);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
        Assert.Equal(70, fading[^1], 3);
        Assert.Contains(fading, l => l is > 71 and < 99);
        Assert.True(rig.Controller.EscortAdvertsAccepted > 1); // the phone repeats its advertisement
    }

    [Fact]
    public void An_escort_advert_heard_from_too_far_away_is_accepted_but_does_not_brighten_the_light()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        rig.Phone.X = 60;
        rig.Escort(Session);
        rig.Run(3000);

        Assert.True(rig.Controller.EscortAdvertsAccepted > 0);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
    }

    [Fact]
    public void Forged_stale_and_replayed_escort_adverts_are_rejected_and_counted()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        rig.Escort(Session, keys: StreetlightRig.Keys(key: StreetlightRig.Key)); // sealed under the wrong key
        rig.Run(100);
        Assert.True(rig.Controller.RejectedForged > 0);

        rig.Escort(Session, rig.UnixMinute - 3); // a recording from three minutes ago
        rig.Run(100);
        Assert.True(rig.Controller.RejectedStale > 0);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);

        rig.Escort(Session, rig.UnixMinute + 1);
        rig.Run(100);
        Assert.Equal(LightMode.Escort, rig.Controller.Mode);

        rig.Escort(Session, rig.UnixMinute); // older than what this session already sent
        rig.Run(100);
        Assert.True(rig.Controller.RejectedReplayed > 0);
        Assert.Equal(1, rig.Controller.EscortAdvertsAccepted);
    }

    [Theory]
    [Trait("Category", "Protocol")]
    [InlineData(-3, false)]
    [InlineData(-2, true)]
    [InlineData(0, true)]
    [InlineData(2, true)]
    [InlineData(3, false)]
    public void An_escort_minute_up_to_two_minutes_either_side_of_the_lights_own_minute_is_taken(int skew, bool taken)
    {
        // 59.9 s into the light's minute: its minute is the whole minutes since 1970, not a rounded one.
        var rig = new StreetlightRig(StreetlightRig.Night.AddSeconds(59.9));
        rig.Escort(Session, (uint)(rig.UnixMinute + skew));
        rig.Run(100);

        Assert.Equal(taken ? 1 : 0, rig.Controller.EscortAdvertsAccepted);
        Assert.Equal(taken ? 0 : 1, Math.Min(1, rig.Controller.RejectedStale));
    }

    [Fact]
    [Trait("Category", "Protocol")]
    public void After_a_power_cut_escort_minutes_up_to_the_end_of_the_floor_block_are_refused_later_ones_taken()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        uint minute = rig.UnixMinute;
        byte[] recorded = rig.Escort(Session, minute);
        rig.Run(100);
        Assert.Equal(1, rig.Controller.EscortAdvertsAccepted);
        rig.Phone.StopAdvertising();

        rig.Light.PowerCycle();
        rig.Phone.Advertise(recorded, recorded.Length, StreetlightRig.AdvertisingIntervalMs);
        rig.Run(100);
        Assert.Equal(0, rig.Controller.EscortAdvertsAccepted);
        Assert.True(rig.Controller.RejectedReplayed > 0);

        // Another walker, once the clock has passed the block the floor covers.
        uint blockEnd = CounterBlock.End(minute, (uint)rig.Config.EscortFloorBlockMinutes);
        rig.Clock.Advance((long)(blockEnd - minute + 1) * 60_000);
        rig.Escort(Session + 1);
        rig.Run(100);
        Assert.Equal(1, rig.Controller.EscortAdvertsAccepted);
    }

    [Fact]
    public void Emergency_blinks_until_released_and_the_beacon_confirms_each_mode()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        rig.Run(1000);
        rig.SendCommand(LightMode.Emergency, 0);
        rig.Run(100);
        Assert.Equal(LightMode.Emergency, FramePayloads.BeaconMode(rig.Beacon()));

        rig.Run(60 * 60 * 1000); // an hour later it still blinks
        List<double> levels = rig.Watch(2000);
        Assert.Equal(LightMode.Emergency, rig.Controller.Mode);
        Assert.Contains(levels, l => Math.Abs(l - 100) < 1e-6);
        Assert.Contains(levels, l => Math.Abs(l - rig.Config.EmergencyLowLevel) < 1e-6);
        Assert.True(levels.Zip(levels.Skip(1)).Count(p => Math.Abs(p.First - p.Second) > 50) >= 3);

        rig.SendCommand(LightMode.Schedule, 0);
        rig.Run(3000);
        Assert.Equal(LightMode.Schedule, FramePayloads.BeaconMode(rig.Beacon()));
        Assert.Equal(70, rig.Light.Lamp.Level, 3);
        Assert.Equal(2, rig.Controller.CommandsAccepted);
    }

    [Fact]
    public void A_command_with_a_hold_ends_by_itself()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        rig.SendCommand(LightMode.Escort, 10);
        rig.Run(9000);
        Assert.Equal(LightMode.Escort, rig.Controller.Mode);
        rig.Run(2000);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
    }

    [Fact]
    public void Forged_replayed_and_foreign_commands_change_nothing_and_forgeries_and_replays_are_counted()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        rig.SendCommand(LightMode.Emergency, 0, key: StreetlightRig.AreaKey);
        rig.Run(200);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
        Assert.True(rig.Controller.RejectedForged > 0);

        rig.SendCommand(LightMode.Emergency, 0, lightId: StreetlightRig.LightId + 1);
        rig.Run(200);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
        Assert.Equal(0, rig.Controller.RejectedReplayed);

        byte[] recorded = rig.SendCommand(LightMode.Emergency, 0, counter: 7);
        rig.Run(200);
        rig.SendCommand(LightMode.Schedule, 0, counter: 8);
        rig.Run(200);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);

        // An attacker replays the recorded emergency command.
        rig.Gateway.Advertise(recorded, recorded.Length, StreetlightRig.AdvertisingIntervalMs);
        rig.Run(200);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
        Assert.True(rig.Controller.RejectedReplayed > 0);
        Assert.Equal(2, rig.Controller.CommandsAccepted);
    }

    [Fact]
    public void Emergency_wins_over_escort_and_a_release_leaves_the_walkers_escort_running()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        rig.Escort(Session);
        rig.Run(500);
        Assert.Equal(LightMode.Escort, rig.Controller.Mode);

        rig.SendCommand(LightMode.Emergency, 0);
        rig.Run(500);
        Assert.Equal(LightMode.Emergency, rig.Controller.Mode);

        rig.SendCommand(LightMode.Escort, 60);
        rig.Run(500);
        Assert.Equal(LightMode.Emergency, rig.Controller.Mode);

        rig.SendCommand(LightMode.Schedule, 0);
        rig.Run(500);
        Assert.Equal(LightMode.Escort, rig.Controller.Mode); // the phone is still in range

        rig.Phone.StopAdvertising();
        rig.Run(rig.Config.EscortHoldMs + 1000);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
    }

    [Fact]
    public void A_lamp_that_draws_no_current_while_lit_raises_the_fault_bit_and_clears_it_when_current_returns()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        rig.Run(2000);
        rig.Light.Lamp.LampBroken = true;
        rig.Run(rig.Config.LampFaultAfterMs - 1000);
        Assert.False(rig.Controller.LampFault);
        rig.Run(2000);

        Assert.True(rig.Controller.LampFault);
        Assert.True(FramePayloads.BeaconHasLampFault(rig.Beacon()));

        rig.Light.Lamp.LampBroken = false;
        rig.Run(rig.Config.LampRestoreAfterMs + 200);
        Assert.False(rig.Controller.LampFault);
        Assert.False(FramePayloads.BeaconHasLampFault(rig.Beacon()));
    }

    [Fact]
    public void A_cut_off_lamp_by_day_is_not_a_fault()
    {
        var rig = new StreetlightRig(StreetlightRig.Noon);
        rig.Light.Lamp.LampBroken = true;
        rig.Run(60_000);
        Assert.False(rig.Controller.LampFault);
    }

    [Fact]
    public void Beacons_are_signed_and_their_counters_strictly_increase()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        var counters = new List<uint>();
        for (int i = 0; i < 20; i++)
        {
            rig.Run(rig.Config.BeaconIntervalMs);
            counters.Add(rig.Beacon().Counter);
        }

        Assert.Equal(counters.Order(), counters);
        Assert.Equal(counters.Distinct().Count(), counters.Count);
        Assert.True(rig.Controller.BeaconsSent >= 20);
    }

    [Fact]
    public void Reboot_mid_emergency_keeps_blinking_never_reuses_a_beacon_counter_and_still_refuses_the_old_command()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        byte[] emergency = rig.SendCommand(LightMode.Emergency, 0);
        rig.Run(30_000);
        rig.Gateway.StopAdvertising();
        uint before = rig.Beacon().Counter;

        rig.Light.PowerCycle();
        rig.Run(500);
        Assert.Equal(LightMode.Emergency, rig.Controller.Mode);
        Assert.True(rig.Beacon().Counter > before);

        // The rest of the command block is refused after the power cut: the release does not act, and the gateway,
        // seeing no confirmation, moves on to the next block.
        rig.SendCommand(LightMode.Schedule, 0);
        rig.Run(500);
        Assert.Equal(LightMode.Emergency, rig.Controller.Mode);
        Assert.Equal(CounterBlock.LightCommand - 1, rig.Controller.CommandFloor);
        rig.SkipToNextCommandBlock();
        rig.SendCommand(LightMode.Schedule, 0);
        rig.Run(500);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);

        // Replay the recorded emergency command to the rebooted light.
        int replayed = rig.Controller.RejectedReplayed;
        rig.Gateway.Advertise(emergency, emergency.Length, StreetlightRig.AdvertisingIntervalMs);
        rig.Run(500);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
        Assert.True(rig.Controller.RejectedReplayed > replayed);
    }

    [Fact]
    public void Reboot_mid_escort_restores_the_gateways_escort_and_the_counter_window()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        byte[] escort = rig.SendCommand(LightMode.Escort, 120);
        rig.Run(1000);
        rig.Gateway.StopAdvertising();
        uint before = rig.Beacon().Counter;

        rig.Light.PowerCycle();
        rig.Run(500);
        Assert.Equal(LightMode.Escort, rig.Controller.Mode);
        Assert.True(rig.Beacon().Counter > before);

        rig.SkipToNextCommandBlock();
        rig.SendCommand(LightMode.Schedule, 0);
        rig.Run(500);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
        rig.Gateway.Advertise(escort, escort.Length, StreetlightRig.AdvertisingIntervalMs);
        rig.Run(500);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
    }

    [Fact]
    public void Malformed_and_random_advertisements_are_dropped_without_harm()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        var random = new Random(5);
        var noise = rig.Air.CreateRadio("noise", 3, 0);
        for (int i = 0; i < 2000; i++)
        {
            byte[] data = new byte[random.Next(1, 32)];
            random.NextBytes(data);
            if (i % 2 == 0 && data.Length > 5)
            {
                // Anshimi's company id in front of garbage, so the frame checks run too.
                data[0] = (byte)(data.Length - 1);
                data[1] = BleAdvertisement.AdTypeManufacturerData;
                data[2] = 0xFF;
                data[3] = 0xFF;
            }

            noise.Advertise(data, data.Length, StreetlightRig.AdvertisingIntervalMs);
            rig.Run(StreetlightRig.TickMs);
        }

        Assert.True(rig.Controller.RejectedMalformed > 0);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
        Assert.Equal(0, rig.Light.Watchdog.Expirations);
    }

    [Fact]
    public void A_flood_of_advertisements_between_two_ticks_is_bounded_and_counted()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        byte[] advert = StreetlightRig.Advertisement([0x17, 0, 0, 0, 1], withFlags: true);
        for (int i = 0; i < 100; i++)
        {
            rig.Phone.Advertise(advert, advert.Length, StreetlightRig.AdvertisingIntervalMs);
        }

        rig.Run(StreetlightRig.TickMs);
        Assert.Equal(100 - rig.Config.MaxQueuedAdvertisements, rig.Controller.DroppedAdvertisements);
    }

    [Fact]
    public void Without_a_set_clock_escort_adverts_are_refused_and_the_ambient_sensor_alone_decides()
    {
        var rig = new StreetlightRig(new DateTime(2000, 1, 1, 12, 0, 0, DateTimeKind.Utc), ambient: 0.02);
        rig.Escort(Session, 1000);
        rig.Run(3000);
        Assert.Equal(LightMode.Schedule, rig.Controller.Mode);
        Assert.True(rig.Controller.RejectedStale > 0);
        Assert.Equal(70, rig.Light.Lamp.Level, 3);
    }
}
