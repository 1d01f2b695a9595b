using Anshimi.Firmware.Host;

namespace Anshimi.Firmware.Tests.Streetlight;

/// <summary>If the logic stops, the lamp ends up lit: the watchdog resets the board, and a reset board leaves the lamp at full.</summary>
public sealed class WatchdogFailSafeTests
{
    [Fact]
    public void A_healthy_loop_keeps_the_watchdog_fed()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        rig.Run(120_000);
        Assert.Equal(0, rig.Light.Watchdog.Expirations);
    }

    [Fact]
    public void A_powered_off_light_is_never_reset_again()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        rig.Run(3000);
        int resets = 0;
        rig.Light.WasReset += () => resets++;

        rig.Light.PowerOff();
        rig.Clock.Advance(10 * rig.Light.Watchdog.TimeoutMs);

        Assert.Equal(0, resets);
        Assert.Equal(0, rig.Light.Watchdog.Expirations);
    }

    [Fact]
    public void A_hung_loop_by_day_ends_with_the_lamp_at_full_light()
    {
        var rig = new StreetlightRig(StreetlightRig.Noon);
        rig.Light.RebootOnReset = false;
        rig.Run(5000);
        Assert.Equal(0, rig.Light.Lamp.Level);

        // The loop stops ticking; only the clock goes on.
        rig.Clock.Advance(rig.Light.Watchdog.TimeoutMs + 100);

        Assert.Equal(1, rig.Light.Resets);
        Assert.Equal(100, rig.Light.Lamp.Level);
    }

    [Fact]
    public void A_loop_whose_every_tick_throws_does_not_feed_the_watchdog_and_the_dimmed_lamp_goes_to_full()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        rig.Light.RebootOnReset = false;
        rig.Run(3000);
        Assert.Equal(70, rig.Light.Lamp.Level, 3);

        rig.Light.Ambient.Failing = true;
        for (int t = 0; t < rig.Light.Watchdog.TimeoutMs + 200; t += StreetlightRig.TickMs)
        {
            rig.Clock.Advance(StreetlightRig.TickMs);
            Assert.Throws<IOException>(rig.Controller.Tick);
        }

        Assert.Equal(1, rig.Light.Resets);
        Assert.Equal(100, rig.Light.Lamp.Level);
    }

    [Fact]
    public void After_the_reset_the_firmware_boots_again_and_takes_the_lamp_back_smoothly()
    {
        var rig = new StreetlightRig(StreetlightRig.Night);
        rig.Run(3000);
        uint before = rig.Beacon().Counter;
        rig.Clock.Advance(rig.Light.Watchdog.TimeoutMs + 100);
        Assert.Equal(100, rig.Light.Lamp.Level);

        List<double> levels = rig.Watch(3000);
        Assert.Equal(70, levels[^1], 3);
        Assert.All(levels, l => Assert.True(l >= 70 - 1e-9));
        Assert.True(rig.Beacon().Counter > before);
    }
}
