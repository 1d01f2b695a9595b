using Anshimi.Firmware.Host;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests.Streetlight;

/// <summary>
/// A light obeys a night of gateway commands (mode changes, a run of escort refreshes across a command block) and a
/// walker's escort advertisement, on the device apps' own flash adapter, with the power cut at every step of every
/// flash write it makes. After each cut it boots from what the flash holds: its floors never fall below a command or an
/// escort minute it acted on, no recorded frame it acted on acts again, and it still obeys the gateway's next command.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class PowerCutReplayTests : IDisposable
{
    private const uint Session = 0x00C0FFEE;

    private readonly List<string> _directories = [];

    public void Dispose()
    {
        foreach (string directory in _directories.Where(Directory.Exists))
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void The_night_writes_its_floors_once_per_block_not_once_per_command()
    {
        Night night = Run(cutAtWrite: int.MaxValue, CutStep.BeforeWrite);

        Assert.False(night.Flash.HasCut);
        Assert.Equal(70u, night.Sent[^1].Counter);
        Assert.Equal(70u, night.HighestActed);
        Assert.True(night.EscortActed);

        // The escort key delivered, 70 commands and an escort: the key, two command-floor blocks, one escort block, a
        // beacon-counter block and the four mode changes (refreshes of the same escort write nothing).
        Assert.True(night.Flash.Writes <= 10, "writes: " + night.Flash.Writes);
    }

    [Fact]
    public void A_cut_at_any_step_of_any_write_never_lowers_a_floor_never_lets_a_recorded_frame_act_again_and_the_light_still_obeys()
    {
        int writes = Run(cutAtWrite: int.MaxValue, CutStep.BeforeWrite).Flash.Writes;
        Assert.True(writes >= 5);

        for (int write = 1; write <= writes; write++)
        {
            foreach (CutStep step in Enum.GetValues<CutStep>())
            {
                Night night = Run(write, step);
                string where = "cut at " + step + " of write " + write;
                Assert.True(night.Flash.HasCut, where);

                night.Rig.Gateway.StopAdvertising();
                night.Rig.Phone.StopAdvertising();
                night.Flash.Power.Restore();
                night.Rig.Light.PowerCycle();
                night.Rig.Run(200);
                uint floor = night.Rig.Controller.CommandFloor;
                Assert.True(floor >= night.HighestActed, where + ": floor " + floor + " below " + night.HighestActed);

                // Every recorded command the light acted on, and the walker's advertisement if it acted on it.
                foreach (Sent sent in night.Sent.Where(s => s.Counter <= night.HighestActed))
                {
                    night.Rig.Gateway.Advertise(sent.Advertisement, sent.Advertisement.Length, StreetlightRig.AdvertisingIntervalMs);
                    night.Rig.Run(60);
                }

                if (night.EscortActed)
                {
                    night.Rig.Phone.Advertise(night.Escort, night.Escort.Length, StreetlightRig.AdvertisingIntervalMs);
                    night.Rig.Run(60);
                    Assert.Equal(0, night.Rig.Controller.EscortAdvertsAccepted);
                }

                Assert.True(night.Rig.Controller.CommandsAccepted == 0, where + ": a recorded command acted again");

                // The gateway, unconfirmed, moves to the next block; the light obeys and its beacon confirms.
                byte mode = night.Rig.Controller.Mode == LightMode.Emergency ? LightMode.Schedule : LightMode.Emergency;
                night.Rig.SkipToNextCommandBlock();
                night.Rig.SendCommand(mode, 0);
                night.Rig.Run(1200);
                Assert.True(night.Rig.Controller.CommandsAccepted == 1, where + ": the light no longer obeys");
                Assert.Equal(mode, night.Rig.Controller.Mode);
                Assert.Equal(mode, FramePayloads.BeaconMode(night.Rig.Beacon()));
            }
        }
    }

    private Night Run(int cutAtWrite, CutStep step)
    {
        string directory = Path.Combine(Path.GetTempPath(), "anshimi-cut-" + Guid.NewGuid().ToString("N"));
        _directories.Add(directory);
        var flash = new PowerCutFlash(directory, cutAtWrite, step);
        var night = new Night(flash);
        try
        {
            Assert.True(night.Rig.InstallEscortKey(StreetlightRig.Area, StreetlightRig.Epoch, StreetlightRig.AreaKey, 0));
            night.Rig.Run(200);
            night.Send(LightMode.Emergency, 0);
            night.Send(LightMode.Schedule, 0);
            night.Escort = night.Rig.Escort(Session);
            night.Rig.Run(200);
            night.EscortActed = night.Rig.Controller.EscortAdvertsAccepted > 0;
            night.Rig.Phone.StopAdvertising();
            for (int i = 0; i < 66; i++)
            {
                night.Send(LightMode.Escort, 30);
            }

            night.Send(LightMode.Emergency, 0);
            night.Send(LightMode.Schedule, 0);
        }
        catch (PowerCutException)
        {
            // The power went away here: nothing after it ran.
        }

        return night;
    }

    private sealed record Sent(uint Counter, byte[] Advertisement);

    private sealed class Night(PowerCutFlash flash)
    {
        public PowerCutFlash Flash { get; } = flash;

        public StreetlightRig Rig { get; } = new(StreetlightRig.Night, storage: flash, installEscortKey: false);

        public List<Sent> Sent { get; } = [];

        /// <summary>The newest command the light acted on before the cut.</summary>
        public uint HighestActed { get; private set; }

        public byte[] Escort { get; set; } = [];

        public bool EscortActed { get; set; }

        public void Send(byte mode, ushort holdSeconds)
        {
            int accepted = Rig.Controller.CommandsAccepted;
            byte[] advertisement = Rig.SendCommand(mode, holdSeconds);
            Sent.Add(new Sent(Rig.GatewayCounter, advertisement));
            Rig.Run(100);
            if (Rig.Controller.CommandsAccepted > accepted)
            {
                HighestActed = Rig.GatewayCounter;
            }
        }
    }
}
